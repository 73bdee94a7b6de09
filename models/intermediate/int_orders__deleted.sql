-- Orders cancelled upstream (the order's latest version is a delete). Every line of such an
-- order goes from fct_order_lines, and the order from fct_orders, in the run after.
with deleted_orders as (

    select order_id
    from {{ ref('stg_erp__orders') }}
    where is_deleted

)

select * from deleted_orders
