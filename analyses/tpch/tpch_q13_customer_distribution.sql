-- TPC-H Q13, asked of the marts: how many customers placed how many orders, leaving out
-- orders whose comment mentions special requests (customers with none count as 0).
with customers as (

    select * from {{ ref('dim_customers_current') }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where order_comment not like '%special%requests%'

),

orders_per_customer as (

    select
        customers.customer_id,
        count(orders.order_id) as order_count
    from customers
    left join orders
        on customers.customer_id = orders.customer_id
    group by customers.customer_id

),

final as (

    select
        order_count,
        count(*) as customer_count
    from orders_per_customer
    group by order_count

)

select * from final
order by
    customer_count desc,
    order_count desc
