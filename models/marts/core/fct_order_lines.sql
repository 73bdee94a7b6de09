-- One row per order line, with the customer, part and supplier versions valid on the
-- order date (point in time; the unknown member when none is), and its money and timing.
--
-- Incremental: each run rebuilds the lines whose line or order changed within the lookback
-- window (var fct_order_lines_lookback_days) before the newest change already in the table,
-- which takes in lines that arrive a day or two after their order. Lines cancelled upstream,
-- alone or with their order (int_order_lines__deleted, int_orders__deleted), are removed by
-- the post-hook, which records their keys for the publication (decision 0014). Lines of a
-- customer, part, supplier or offer whose history gained a version in the past (an insert
-- delivered after its key's updates, decision 0022) are rebuilt too, however old. A full
-- refresh gives the same table.
-- depends_on: {{ ref('int_deliveries__out_of_order') }}
{{
    config(
        materialized='incremental',
        unique_key=['order_id', 'line_number'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=latest_build_indexes(),
        post_hook="{{ remove_rows(this, ['order_id', 'line_number'],
            '(order_id, line_number) in (select order_id, line_number from '
            ~ ref('int_order_lines__deleted') ~ ')'
            ~ ' or order_id in (select order_id from ' ~ ref('int_orders__deleted') ~ ')') }}",
    )
}}

{% set window_start = incremental_boundary(
    'max(last_changed_date) - ' ~ var('fct_order_lines_lookback_days'), 'date') %}
{% set history_moved_back = lines_whose_history_moved_back(window_start) %}

with order_lines as (

    {% if window_start %}
        -- A line changed within the window, or its order did: two branches, so each
        -- staging table is filtered where it is read (decision 0019). Each names the view
        -- itself: PostgreSQL would compute a CTE read twice once, in full, for both.
        select * from {{ ref('int_order_lines__joined_to_orders') }}
        where line_changed_date >= {{ window_start }}
        union all
        select * from {{ ref('int_order_lines__joined_to_orders') }}
        where order_changed_date >= {{ window_start }} and line_changed_date < {{ window_start }}
        {% if history_moved_back %}
            union all
            select * from {{ ref('int_order_lines__joined_to_orders') }}
            where
                order_changed_date < {{ window_start }}
                and line_changed_date < {{ window_start }}
                and ({{ history_moved_back }})
        {% endif %}
    {% else %}
        select * from {{ ref('int_order_lines__joined_to_orders') }}
    {% endif %}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

parts as (

    select * from {{ ref('dim_parts') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers') }}

),

supply_costs as (

    select * from {{ ref('int_supply_costs__versioned') }}

),

priced as (

    select
        order_lines.*,
        -- Exact: two-decimal prices times two-decimal rates have four decimals, and a
        -- report rounds only the sums it presents (decision 0032).
        cast(order_lines.extended_price * (1 - order_lines.discount_rate) as decimal(18, 4)) as net_revenue,
        cast(order_lines.quantity * supply_costs.supply_cost as decimal(18, 4)) as supply_cost_amount,
        customers.customer_sk,
        parts.part_sk,
        suppliers.supplier_sk
    from order_lines
    left join customers
        on
            order_lines.customer_id = customers.customer_id
            and order_lines.order_date >= customers.valid_from
            and order_lines.order_date < customers.valid_to
    left join parts
        on
            order_lines.part_id = parts.part_id
            and order_lines.order_date >= parts.valid_from
            and order_lines.order_date < parts.valid_to
    left join suppliers
        on
            order_lines.supplier_id = suppliers.supplier_id
            and order_lines.order_date >= suppliers.valid_from
            and order_lines.order_date < suppliers.valid_to
    left join supply_costs
        on
            order_lines.part_id = supply_costs.part_id
            and order_lines.supplier_id = supply_costs.supplier_id
            and order_lines.order_date >= supply_costs.valid_from
            and order_lines.order_date < supply_costs.valid_to

),

final as (

    select
        order_id,
        line_number,
        coalesce(customer_sk, {{ unknown_member_key() }}) as customer_sk,
        coalesce(part_sk, {{ unknown_member_key() }}) as part_sk,
        coalesce(supplier_sk, {{ unknown_member_key() }}) as supplier_sk,
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
        {{ build_started_at() }} as built_at
    from priced

)

select * from final
