with order_lines as (

    select * from {{ ref('int_order_lines__joined_to_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        order_lines.order_id,
        order_lines.line_number,
        customers.customer_sk,
        order_lines.customer_id,
        order_lines.part_id,
        order_lines.supplier_id,
        order_lines.order_date,
        order_lines.ship_date,
        order_lines.commit_date,
        order_lines.receipt_date,
        order_lines.order_status_code,
        order_lines.return_flag,
        order_lines.line_status,
        order_lines.ship_mode,
        order_lines.quantity,
        order_lines.extended_price,
        order_lines.discount_rate,
        order_lines.tax_rate,
        cast(
            round(order_lines.extended_price * (1 - order_lines.discount_rate), 2) as decimal(18, 2)
        ) as net_revenue
    from order_lines
    left join customers
        on order_lines.customer_id = customers.customer_id

)

select * from final
