-- Incremental, unlike the other staging models: ranking every raw version of the order lines
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
        unique_key=['order_id', 'line_number'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=latest_build_indexes(),
        unlogged=true,
    )
}}

with latest as (

    {{
        latest_versions(
            source('erp', 'erp_order_lines'),
            ['l_orderkey', 'l_linenumber'],
            keep_deletes=true,
            only_changed_keys=true,
        )
    }}

),

renamed as (

    select
        cast(l_orderkey as bigint) as order_id,
        cast(l_linenumber as integer) as line_number,
        cast(l_partkey as bigint) as part_id,
        cast(l_suppkey as bigint) as supplier_id,
        cast(l_quantity as decimal(15, 2)) as quantity,
        cast(l_extendedprice as decimal(15, 2)) as extended_price,
        cast(l_discount as decimal(15, 2)) as discount_rate,
        cast(l_tax as decimal(15, 2)) as tax_rate,
        cast(l_returnflag as {{ string_type() }}) as return_flag,
        cast(l_linestatus as {{ string_type() }}) as line_status,
        cast(l_shipdate as date) as ship_date,
        cast(l_commitdate as date) as commit_date,
        cast(l_receiptdate as date) as receipt_date,
        cast(l_shipinstruct as {{ string_type() }}) as ship_instructions,
        cast(l_shipmode as {{ string_type() }}) as ship_mode,
        cast(l_comment as {{ string_type() }}) as line_comment,
        is_deleted,
        {{ source_version_columns() }},
        {{ build_started_at() }} as built_at
    from latest

)

select * from renamed
