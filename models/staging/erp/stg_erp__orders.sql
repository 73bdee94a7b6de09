-- A table, unlike the other staging models: the latest-version window over every raw
-- version of the orders is the costliest step of a build, and this model's tests, the
-- intermediate join and the fact all read it; as a view each would compute it again.
{{ config(materialized='table') }}

with latest as (

    {{ latest_versions(source('erp', 'erp_orders'), ['o_orderkey']) }}

),

renamed as (

    select
        cast(o_orderkey as bigint) as order_id,
        cast(o_custkey as bigint) as customer_id,
        cast(o_orderstatus as varchar) as order_status_code,
        cast(o_totalprice as decimal(15, 2)) as order_total_price,
        cast(o_orderdate as date) as order_date,
        cast(o_orderpriority as varchar) as order_priority,
        cast(o_clerk as varchar) as clerk_name,
        cast(o_shippriority as integer) as ship_priority,
        cast(o_comment as varchar) as order_comment,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
