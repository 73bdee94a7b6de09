-- TPC-H Q10, asked of the marts: the 20 customers whose returned items lost the most
-- revenue, for orders of the fourth quarter of 1993.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers_current') }}

),

final as (

    select
        customers.customer_id,
        customers.customer_name,
        sum(order_lines.net_revenue) as revenue,
        customers.account_balance,
        customers.nation_name,
        customers.customer_address,
        customers.customer_phone,
        customers.customer_comment
    from order_lines
    inner join customers
        on order_lines.customer_id = customers.customer_id
    where
        order_lines.order_date >= date '1993-10-01'
        and order_lines.order_date < date '1994-01-01'
        and order_lines.return_flag = 'R'
    group by
        customers.customer_id,
        customers.customer_name,
        customers.account_balance,
        customers.nation_name,
        customers.customer_address,
        customers.customer_phone,
        customers.customer_comment

)

select * from final
order by
    revenue desc,
    customer_id asc
limit 20
