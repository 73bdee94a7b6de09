-- TPC-H Q15, asked of the marts: the supplier (or suppliers, on a tie) with the most revenue
-- from lines shipped in the first quarter of 1996. Exact money makes the tie exact too.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

supplier_revenue as (

    select
        supplier_id,
        sum(net_revenue) as total_revenue
    from order_lines
    where
        ship_date >= date '1996-01-01'
        and ship_date < date '1996-04-01'
    group by supplier_id

),

final as (

    select
        suppliers.supplier_id,
        suppliers.supplier_name,
        suppliers.supplier_address,
        suppliers.supplier_phone,
        supplier_revenue.total_revenue
    from suppliers
    inner join supplier_revenue
        on suppliers.supplier_id = supplier_revenue.supplier_id
    where supplier_revenue.total_revenue = (
            select max(best.total_revenue) as best_revenue from supplier_revenue as best
        )

)

select * from final
order by supplier_id
