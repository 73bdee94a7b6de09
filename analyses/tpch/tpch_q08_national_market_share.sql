-- TPC-H Q8, asked of the marts: Brazil's suppliers' share of the American market for
-- ECONOMY ANODIZED STEEL, in 1995 and 1996.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers_current') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}

),

final as (

    select
        extract(year from order_lines.order_date) as order_year,
        sum(case when suppliers.nation_name = 'BRAZIL' then order_lines.net_revenue else 0 end)
        / sum(order_lines.net_revenue) as market_share
    from order_lines
    inner join parts
        on order_lines.part_id = parts.part_id
    inner join suppliers
        on order_lines.supplier_id = suppliers.supplier_id
    inner join customers
        on order_lines.customer_id = customers.customer_id
    where
        customers.region_name = 'AMERICA'
        and order_lines.order_date between date '1995-01-01' and date '1996-12-31'
        and parts.part_type = 'ECONOMY ANODIZED STEEL'
    group by extract(year from order_lines.order_date)

)

select * from final
order by order_year
