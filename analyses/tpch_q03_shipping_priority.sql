-- TPC-H Q3, asked of the marts: the ten unshipped orders of the BUILDING segment with the
-- most revenue, as of 1995-03-15.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        order_lines.order_id,
        order_lines.order_date,
        sum(order_lines.extended_price * (1 - order_lines.discount_rate)) as revenue
    from order_lines
    inner join customers
        on order_lines.customer_sk = customers.customer_sk
    where
        customers.market_segment = 'BUILDING'
        and order_lines.order_date < date '1995-03-15'
        and order_lines.ship_date > date '1995-03-15'
    group by
        order_lines.order_id,
        order_lines.order_date

)

select * from final
order by
    revenue desc,
    order_date asc,
    order_id asc
limit 10
