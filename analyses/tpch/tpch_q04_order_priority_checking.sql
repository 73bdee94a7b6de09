-- TPC-H Q4, asked of the marts: orders of the third quarter of 1993 with at least one line
-- received after its committed date, by order priority.
with orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

final as (

    select
        order_priority,
        count(*) as order_count
    from orders
    where
        order_date >= date '1993-07-01'
        and order_date < date '1993-10-01'
        and exists (
            select order_lines.order_id
            from order_lines
            where
                order_lines.order_id = orders.order_id
                and order_lines.commit_date < order_lines.receipt_date
        )
    group by order_priority

)

select * from final
order by order_priority
