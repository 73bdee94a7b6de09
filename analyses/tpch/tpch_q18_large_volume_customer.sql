-- TPC-H Q18, asked of the marts: the 100 largest orders (by the ERP's total price) of more
-- than 300 units, with their customers.
with orders as (

    select * from {{ ref('fct_orders') }}
    where total_quantity > 300

),

customers as (

    select * from {{ ref('dim_customers_current') }}

),

final as (

    select
        customers.customer_name,
        customers.customer_id,
        orders.order_id,
        orders.order_date,
        orders.order_total_price,
        orders.total_quantity
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id

)

select * from final
order by
    order_total_price desc,
    order_date asc,
    order_id asc
limit 100
