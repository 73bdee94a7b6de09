-- One row per order: its customer (the version valid on the order date), dates, status and
-- the totals of its lines. Built from fct_order_lines, so the two always agree.
--
-- Incremental: each run re-sums the orders that a build since this table's last one
-- touched: a fact line rewritten, or a line or order version (a cancellation included)
-- written to staging. Those rows carry a newer built_at than this table's newest. An order
-- with no line left in the fact is removed by the post-hook, which records its key for the
-- publication (decision 0014). A full refresh gives the same table.
-- Staging is read only by incremental runs, so dbt is told of it here:
-- depends_on: {{ ref('stg_erp__order_lines') }}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=latest_build_indexes(),
        post_hook="{{ remove_rows(this, ['order_id'],
            'not exists (select 1 from ' ~ ref('fct_order_lines') ~ ' as order_lines'
            ~ ' where order_lines.order_id = ' ~ this.identifier ~ '.order_id)') }}",
    )
}}

{% set last_built_at = incremental_boundary('max(built_at)', 'timestamp') %}

{% if last_built_at %}
    with touched_orders as (

        select order_lines.order_id
        from {{ ref('fct_order_lines') }} as order_lines
        where order_lines.built_at > {{ last_built_at }}
        union
        select staged_lines.order_id
        from {{ ref('stg_erp__order_lines') }} as staged_lines
        where staged_lines.built_at > {{ last_built_at }}
        union
        select staged_orders.order_id
        from {{ ref('stg_erp__orders') }} as staged_orders
        where staged_orders.built_at > {{ last_built_at }}

    ),

    order_lines as (

        select *
        from {{ ref('fct_order_lines') }}
        where order_id in (select touched_orders.order_id from touched_orders)

    ),
{% else %}
    with order_lines as (

        select * from {{ ref('fct_order_lines') }}

    ),
{% endif %}

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_attributes as (

    select
        order_id,
        order_priority,
        ship_priority,
        order_total_price,
        clerk_name,
        order_comment
    from orders

),

-- min() of a varchar is text on PostgreSQL: the cast keeps the type the table was created with.
totals as (

    select
        order_id,
        cast(min(order_status_code) as {{ string_type() }}) as order_status_code,
        min(customer_sk) as customer_sk,
        min(customer_id) as customer_id,
        min(order_date) as order_date,
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
        order_attributes.order_priority,
        order_attributes.ship_priority,
        order_attributes.order_total_price,
        order_attributes.clerk_name,
        order_attributes.order_comment,
        cast(totals.line_count as integer) as line_count,
        cast(totals.total_quantity as decimal(18, 2)) as total_quantity,
        cast(totals.gross_amount as decimal(18, 2)) as gross_amount,
        cast(totals.net_revenue as decimal(18, 4)) as net_revenue,
        cast(totals.gross_margin as decimal(18, 4)) as gross_margin,
        totals.last_ship_date,
        totals.last_receipt_date,
        cast(totals.late_line_count as integer) as late_line_count,
        {{ build_started_at() }} as built_at
    from totals
    left join order_attributes
        on totals.order_id = order_attributes.order_id

)

select * from final
