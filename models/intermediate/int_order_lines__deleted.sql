-- Order lines that no longer exist: the line was cancelled, or its whole order was. The
-- incremental fact deletes these keys after each run; a full build never had them.
--
-- Lines are matched against the few cancelled orders rather than joined to every order:
-- this view is read by each incremental run of the fact, and a join of all lines with all
-- orders (the "or" across both sides cannot be pushed below it) cost most of that run.
with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

deleted_orders as (

    select order_id from {{ ref('stg_erp__orders') }}
    where is_deleted

),

flagged as (

    select
        order_id,
        line_number,
        is_deleted as is_line_deleted,
        order_id in (select deleted_orders.order_id from deleted_orders) as is_order_deleted
    from order_lines

),

deleted as (

    select * from flagged
    where is_line_deleted or is_order_deleted

)

select * from deleted
