-- TPC-H Q5, asked of the marts: 1994 revenue in Asia from lines where the customer and the
-- supplier are in the same nation, by nation.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers_current') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

final as (

    select
        customers.nation_name,
        sum(order_lines.net_revenue) as revenue
    from order_lines
    inner join customers
        on order_lines.customer_id = customers.customer_id
    inner join suppliers
        on order_lines.supplier_id = suppliers.supplier_id
    where
        customers.nation_id = suppliers.nation_id
        and customers.region_name = 'ASIA'
        and order_lines.order_date >= date '1994-01-01'
        and order_lines.order_date < date '1995-01-01'
    group by customers.nation_name

)

select * from final
order by revenue desc
