-- Order lines that no longer exist: the line was cancelled, or its whole order was. The
-- incremental fact deletes these keys after each run; a full build never had them.
with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

deleted as (

    select
        order_lines.order_id,
        order_lines.line_number,
        order_lines.is_deleted as is_line_deleted,
        coalesce(orders.is_deleted, false) as is_order_deleted
    from order_lines
    left join orders
        on order_lines.order_id = orders.order_id
    where order_lines.is_deleted or orders.is_deleted

)

select * from deleted
