-- TPC-H Q3, asked of the marts: the ten orders of the BUILDING segment placed before and
-- still shipping after 1995-03-15 with the most revenue from those lines.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers_current') }}

),

final as (

    select
        order_lines.order_id,
        sum(order_lines.net_revenue) as revenue,
        orders.order_date,
        orders.ship_priority
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    inner join customers
        on orders.customer_id = customers.customer_id
    where
        customers.market_segment = 'BUILDING'
        and orders.order_date < date '1995-03-15'
        and order_lines.ship_date > date '1995-03-15'
    group by
        order_lines.order_id,
        orders.order_date,
        orders.ship_priority

)

select * from final
order by
    revenue desc,
    order_date asc,
    order_id asc
limit 10
