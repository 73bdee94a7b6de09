with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}
    where not is_deleted

),

orders as (

    select * from {{ ref('stg_erp__orders') }}
    where not is_deleted

),

joined as (

    select
        order_lines.order_id,
        order_lines.line_number,
        orders.customer_id,
        order_lines.part_id,
        order_lines.supplier_id,
        orders.order_date,
        orders.order_status_code,
        orders.order_priority,
        order_lines.ship_date,
        order_lines.commit_date,
        order_lines.receipt_date,
        order_lines.quantity,
        order_lines.extended_price,
        order_lines.discount_rate,
        order_lines.tax_rate,
        order_lines.return_flag,
        order_lines.line_status,
        order_lines.ship_mode,
        order_lines.ship_instructions,
        order_lines.line_comment,
        -- When the line's and the order's latest versions came: apart, an incremental run
        -- of the fact can filter each table where it is read rather than join every line
        -- with its order first.
        order_lines.source_business_date as line_changed_date,
        orders.source_business_date as order_changed_date,
        -- The later of the two: a line's last change, which the fact keeps.
        greatest(order_lines.source_business_date, orders.source_business_date) as last_changed_date
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id

)

select * from joined
