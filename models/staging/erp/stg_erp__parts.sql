with source as (

    select * from {{ source('erp', 'erp_parts') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['p_partkey']) }} as version_rank
    from source

),

renamed as (

    select
        cast(p_partkey as bigint) as part_id,
        cast(p_name as varchar) as part_name,
        cast(p_mfgr as varchar) as manufacturer,
        cast(p_brand as varchar) as brand,
        cast(p_type as varchar) as part_type,
        cast(p_size as integer) as part_size,
        cast(p_container as varchar) as container,
        cast(p_retailprice as decimal(15, 2)) as retail_price,
        cast(p_comment as varchar) as part_comment,
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
