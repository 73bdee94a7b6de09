-- TPC-H Q22, asked of the marts: customers in seven phone country codes with an above
-- average positive balance who never ordered, by country code.
with customers as (

    select
        customer_id,
        account_balance,
        substring(customer_phone, 1, 2) as country_code
    from {{ ref('dim_customers_current') }}
    where substring(customer_phone, 1, 2) in ('13', '31', '23', '29', '30', '18', '17')

),

orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        country_code,
        count(*) as customer_count,
        sum(account_balance) as total_account_balance
    from customers
    where
        account_balance > (
            select avg(positive.account_balance) as average_positive_balance
            from customers as positive
            where positive.account_balance > 0.00
        )
        and not exists (
            select orders.order_id
            from orders
            where orders.customer_id = customers.customer_id
        )
    group by country_code

)

select * from final
order by country_code
