-- Order lines cancelled on their own: the line's latest version is a delete. Lines that go
-- because their whole order was cancelled are listed by order in int_orders__deleted.
-- fct_order_lines removes both after each incremental run, and finds a cancelled order's
-- lines in itself: listing them here would mean reading every staged line each run.
with deleted_lines as (

    select
        order_id,
        line_number
    from {{ ref('stg_erp__order_lines') }}
    where is_deleted

)

select * from deleted_lines
