-- TPC-H Q12, asked of the marts: for mail and ship, how many lines received late in 1994
-- (but shipped before the commit date) belonged to high and to low priority orders.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        order_lines.ship_mode,
        sum(
            case when orders.order_priority in ('1-URGENT', '2-HIGH') then 1 else 0 end
        ) as high_priority_line_count,
        sum(
            case when orders.order_priority not in ('1-URGENT', '2-HIGH') then 1 else 0 end
        ) as low_priority_line_count
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    where
        order_lines.ship_mode in ('MAIL', 'SHIP')
        and order_lines.commit_date < order_lines.receipt_date
        and order_lines.ship_date < order_lines.commit_date
        and order_lines.receipt_date >= date '1994-01-01'
        and order_lines.receipt_date < date '1995-01-01'
    group by order_lines.ship_mode

)

select * from final
order by ship_mode
