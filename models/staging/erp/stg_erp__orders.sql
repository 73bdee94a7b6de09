-- Incremental, unlike the other staging models: ranking every raw version of the orders
-- is the costliest step of a build, so each run ranks only the keys that have a version in
-- a batch this table has not seen. Cancelled keys stay as tombstones (is_deleted), which
-- is how an incremental run learns of a delete; readers filter them out. A full refresh
-- ranks everything and gives the same table.
--
-- Unlogged on PostgreSQL (decision 0015): raw can rebuild it, so its writes skip the
-- write-ahead log. After a crash PostgreSQL empties it, and the next run ranks every key again.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=latest_build_indexes(),
        unlogged=true,
    )
}}

with latest as (

    {{ latest_versions(source('erp', 'erp_orders'), ['o_orderkey'], keep_deletes=true, only_changed_keys=true) }}

),

renamed as (

    select
        cast(o_orderkey as bigint) as order_id,
        cast(o_custkey as bigint) as customer_id,
        cast(o_orderstatus as {{ string_type() }}) as order_status_code,
        cast(o_totalprice as decimal(15, 2)) as order_total_price,
        cast(o_orderdate as date) as order_date,
        cast(o_orderpriority as {{ string_type() }}) as order_priority,
        cast(o_clerk as {{ string_type() }}) as clerk_name,
        cast(o_shippriority as integer) as ship_priority,
        cast(o_comment as {{ string_type() }}) as order_comment,
        is_deleted,
        {{ source_version_columns() }},
        {{ build_started_at() }} as built_at
    from latest

)

select * from renamed
