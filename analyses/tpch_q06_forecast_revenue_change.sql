-- TPC-H Q6, asked of the marts: how much revenue would have been gained in 1994 had
-- the small discounts (5-7%) on small orders (under 24 units) not been given?
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

qualifying_lines as (

    select
        extended_price,
        discount_rate
    from order_lines
    where
        ship_date >= date '1994-01-01'
        and ship_date < date '1995-01-01'
        and discount_rate between 0.05 and 0.07
        and quantity < 24

),

final as (

    select sum(extended_price * discount_rate) as revenue_change
    from qualifying_lines

)

select * from final
