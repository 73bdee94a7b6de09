-- A table, unlike the other staging models: the latest-version window over every raw
-- version of the order lines is the costliest step of a build, and this model's tests, the
-- intermediate join and the fact all read it; as a view each would compute it again.
{{ config(materialized='table') }}

with latest as (

    {{ latest_versions(source('erp', 'erp_order_lines'), ['l_orderkey', 'l_linenumber']) }}

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
        cast(l_returnflag as varchar) as return_flag,
        cast(l_linestatus as varchar) as line_status,
        cast(l_shipdate as date) as ship_date,
        cast(l_commitdate as date) as commit_date,
        cast(l_receiptdate as date) as receipt_date,
        cast(l_shipinstruct as varchar) as ship_instructions,
        cast(l_shipmode as varchar) as ship_mode,
        cast(l_comment as varchar) as line_comment,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
