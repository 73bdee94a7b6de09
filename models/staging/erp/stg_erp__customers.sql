with source as (

    select * from {{ source('erp', 'erp_customers') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['c_custkey']) }} as version_rank
    from source

),

renamed as (

    select
        cast(c_custkey as bigint) as customer_id,
        cast(c_name as varchar) as customer_name,
        cast(c_address as varchar) as customer_address,
        cast(c_nationkey as bigint) as nation_id,
        cast(c_phone as varchar) as customer_phone,
        cast(c_acctbal as decimal(15, 2)) as account_balance,
        cast(c_mktsegment as varchar) as market_segment,
        cast(c_comment as varchar) as customer_comment,
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
