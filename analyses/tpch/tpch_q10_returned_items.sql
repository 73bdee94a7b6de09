-- TPC-H Q10, asked of the marts: the 20 customers whose returned items lost the most
-- revenue, for orders of the fourth quarter of 1993.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

customers as (

    select * from {{ ref('dim_customers_current') }}

),

-- Summed by customer first: the customer's attributes follow from its id, so the long text
-- columns join once per customer instead of being grouped over every line.
returned_revenue as (

    select
        customer_id,
        sum(net_revenue) as revenue
    from order_lines
    where
        order_date >= date '1993-10-01'
        and order_date < date '1994-01-01'
        and return_flag = 'R'
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.customer_name,
        returned_revenue.revenue,
        customers.account_balance,
        customers.nation_name,
        customers.customer_address,
        customers.customer_phone,
        customers.customer_comment
    from returned_revenue
    inner join customers
        on returned_revenue.customer_id = customers.customer_id

)

select * from final
order by
    revenue desc,
    customer_id asc
limit 20
