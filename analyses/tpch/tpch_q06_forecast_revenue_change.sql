-- TPC-H Q6, asked of the marts: the revenue 1994's small-quantity lines with a discount of
-- 5-7% would have added without the discount.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

final as (

    select sum(extended_price * discount_rate) as revenue_change
    from order_lines
    where
        ship_date >= date '1994-01-01'
        and ship_date < date '1995-01-01'
        and discount_rate between 0.05 and 0.07
        and quantity < 24

)

select * from final
