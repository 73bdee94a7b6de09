-- TPC-H Q9, asked of the marts: profit on "green" parts by supplier nation and order year,
-- at the supply cost each supplier offers now (as the question asks; fct_order_lines'
-- gross margin prices each line at the cost of its order date instead).
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

offers as (

    select * from {{ ref('dim_supplier_offers_current') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

final as (

    select
        suppliers.nation_name,
        extract(year from order_lines.order_date) as order_year,
        sum(order_lines.net_revenue - offers.supply_cost * order_lines.quantity) as profit
    from order_lines
    inner join parts
        on order_lines.part_id = parts.part_id
    inner join suppliers
        on order_lines.supplier_id = suppliers.supplier_id
    inner join offers
        on
            order_lines.part_id = offers.part_id
            and order_lines.supplier_id = offers.supplier_id
    where parts.part_name like '%green%'
    group by
        suppliers.nation_name,
        extract(year from order_lines.order_date)

)

select * from final
order by
    nation_name asc,
    order_year desc
