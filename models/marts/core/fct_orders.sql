-- One row per order: its customer (the version valid on the order date), dates, status and
-- the totals of its lines. Built from fct_order_lines, so the two always agree.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

priorities as (

    select
        order_id,
        order_priority
    from orders

),

totals as (

    select
        order_id,
        min(customer_sk) as customer_sk,
        min(customer_id) as customer_id,
        min(order_date) as order_date,
        min(order_status_code) as order_status_code,
        count(*) as line_count,
        sum(quantity) as total_quantity,
        sum(extended_price) as gross_amount,
        sum(net_revenue) as net_revenue,
        sum(gross_margin) as gross_margin,
        max(ship_date) as last_ship_date,
        max(receipt_date) as last_receipt_date,
        sum(case when days_late > 0 then 1 else 0 end) as late_line_count
    from order_lines
    group by order_id

),

final as (

    select
        totals.order_id,
        totals.customer_sk,
        totals.customer_id,
        totals.order_date,
        totals.order_status_code,
        priorities.order_priority,
        cast(totals.line_count as integer) as line_count,
        cast(totals.total_quantity as decimal(18, 2)) as total_quantity,
        cast(totals.gross_amount as decimal(18, 2)) as gross_amount,
        cast(totals.net_revenue as decimal(18, 2)) as net_revenue,
        cast(totals.gross_margin as decimal(18, 2)) as gross_margin,
        totals.last_ship_date,
        totals.last_receipt_date,
        cast(totals.late_line_count as integer) as late_line_count
    from totals
    left join priorities
        on totals.order_id = priorities.order_id

)

select * from final
