with source as (

    select * from {{ source('erp', 'erp_suppliers') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['s_suppkey']) }} as version_rank
    from source

),

renamed as (

    select
        cast(s_suppkey as bigint) as supplier_id,
        cast(s_name as varchar) as supplier_name,
        cast(s_address as varchar) as supplier_address,
        cast(s_nationkey as bigint) as nation_id,
        cast(s_phone as varchar) as supplier_phone,
        cast(s_acctbal as decimal(15, 2)) as account_balance,
        cast(s_comment as varchar) as supplier_comment,
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
