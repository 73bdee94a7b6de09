-- The facts: every current line of a current order, with the customer, part, supplier and
-- supply cost valid on the order date (half-open ranges; the unknown member when none is).
create table reference_marts.fct_order_lines as
with priced as (

    select
        current_lines.order_id,
        current_lines.line_number,
        customers.customer_sk,
        parts.part_sk,
        suppliers.supplier_sk,
        current_orders.customer_id,
        current_lines.part_id,
        current_lines.supplier_id,
        current_orders.order_date,
        current_lines.ship_date,
        current_lines.commit_date,
        current_lines.receipt_date,
        current_orders.order_status_code,
        current_lines.return_flag,
        current_lines.line_status,
        current_lines.ship_mode,
        current_lines.ship_instructions,
        current_lines.line_comment,
        current_lines.quantity,
        current_lines.extended_price,
        current_lines.discount_rate,
        current_lines.tax_rate,
        cast(current_lines.extended_price * (1 - current_lines.discount_rate) as decimal(18, 4)) as net_revenue,
        cast(current_lines.quantity * supply_cost_versions.supply_cost as decimal(18, 4)) as supply_cost_amount,
        greatest(current_lines.source_business_date, current_orders.source_business_date) as last_changed_date
    from current_lines
    inner join current_orders
        on current_lines.order_id = current_orders.order_id
    left join reference_marts.dim_customers as customers
        on
            current_orders.customer_id = customers.customer_id
            and current_orders.order_date >= customers.valid_from
            and current_orders.order_date < customers.valid_to
    left join reference_marts.dim_parts as parts
        on
            current_lines.part_id = parts.part_id
            and current_orders.order_date >= parts.valid_from
            and current_orders.order_date < parts.valid_to
    left join reference_marts.dim_suppliers as suppliers
        on
            current_lines.supplier_id = suppliers.supplier_id
            and current_orders.order_date >= suppliers.valid_from
            and current_orders.order_date < suppliers.valid_to
    left join supply_cost_versions
        on
            current_lines.part_id = supply_cost_versions.part_id
            and current_lines.supplier_id = supply_cost_versions.supplier_id
            and current_orders.order_date >= supply_cost_versions.valid_from
            and current_orders.order_date < supply_cost_versions.valid_to

)

select
    order_id,
    line_number,
    coalesce(customer_sk, -1) as customer_sk,
    coalesce(part_sk, -1) as part_sk,
    coalesce(supplier_sk, -1) as supplier_sk,
    customer_id,
    part_id,
    supplier_id,
    order_date,
    ship_date,
    commit_date,
    receipt_date,
    order_status_code,
    return_flag,
    line_status,
    ship_mode,
    ship_instructions,
    line_comment,
    quantity,
    extended_price,
    discount_rate,
    tax_rate,
    net_revenue,
    supply_cost_amount,
    cast(net_revenue - supply_cost_amount as decimal(18, 4)) as gross_margin,
    cast(ship_date - order_date as integer) as days_to_ship,
    cast(receipt_date - ship_date as integer) as days_in_transit,
    cast(receipt_date - commit_date as integer) as days_late,
    last_changed_date,
    cast(current_timestamp as timestamp) as built_at
from priced;

analyze reference_marts.fct_order_lines;

-- One row per order: its lines' totals, and the order's own customer (the version valid on
-- the order date), date, status and priority, which every one of its lines shares.
create table reference_marts.fct_orders as
with totals as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as total_quantity,
        sum(extended_price) as gross_amount,
        sum(net_revenue) as net_revenue,
        sum(gross_margin) as gross_margin,
        max(ship_date) as last_ship_date,
        max(receipt_date) as last_receipt_date,
        sum(case when days_late > 0 then 1 else 0 end) as late_line_count
    from reference_marts.fct_order_lines
    group by order_id

)

select
    totals.order_id,
    coalesce(customers.customer_sk, -1) as customer_sk,
    current_orders.customer_id,
    current_orders.order_date,
    current_orders.order_status_code,
    current_orders.order_priority,
    current_orders.ship_priority,
    current_orders.order_total_price,
    current_orders.clerk_name,
    current_orders.order_comment,
    cast(totals.line_count as integer) as line_count,
    cast(totals.total_quantity as decimal(18, 2)) as total_quantity,
    cast(totals.gross_amount as decimal(18, 2)) as gross_amount,
    cast(totals.net_revenue as decimal(18, 4)) as net_revenue,
    cast(totals.gross_margin as decimal(18, 4)) as gross_margin,
    totals.last_ship_date,
    totals.last_receipt_date,
    cast(totals.late_line_count as integer) as late_line_count,
    cast(current_timestamp as timestamp) as built_at
from totals
inner join current_orders
    on totals.order_id = current_orders.order_id
left join reference_marts.dim_customers as customers
    on
        current_orders.customer_id = customers.customer_id
        and current_orders.order_date >= customers.valid_from
        and current_orders.order_date < customers.valid_to;

analyze reference_marts.fct_orders;
