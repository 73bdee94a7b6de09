with source as (

    select * from {{ source('erp', 'erp_order_lines') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['l_orderkey', 'l_linenumber']) }} as version_rank
    from source

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
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
