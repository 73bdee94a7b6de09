with source as (

    select * from {{ source('erp', 'erp_orders') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['o_orderkey']) }} as version_rank
    from source

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
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
