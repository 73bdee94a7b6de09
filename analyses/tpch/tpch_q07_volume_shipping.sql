-- TPC-H Q7, asked of the marts: revenue of goods shipped between France and Germany, either
-- way, in 1995 and 1996, by supplier nation, customer nation and year.
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
        suppliers.nation_name as supplier_nation,
        customers.nation_name as customer_nation,
        extract(year from order_lines.ship_date) as ship_year,
        sum(order_lines.net_revenue) as revenue
    from order_lines
    inner join suppliers
        on order_lines.supplier_id = suppliers.supplier_id
    inner join customers
        on order_lines.customer_id = customers.customer_id
    where
        (
            (suppliers.nation_name = 'FRANCE' and customers.nation_name = 'GERMANY')
            or (suppliers.nation_name = 'GERMANY' and customers.nation_name = 'FRANCE')
        )
        and order_lines.ship_date between date '1995-01-01' and date '1996-12-31'
    group by
        suppliers.nation_name,
        customers.nation_name,
        extract(year from order_lines.ship_date)

)

select * from final
order by
    supplier_nation,
    customer_nation,
    ship_year
