with source as (

    select * from {{ source('erp', 'erp_regions') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['r_regionkey']) }} as version_rank
    from source

),

renamed as (

    select
        cast(r_regionkey as bigint) as region_id,
        cast(r_name as varchar) as region_name,
        cast(r_comment as varchar) as region_comment,
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
