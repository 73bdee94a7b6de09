with source as (

    select * from {{ source('erp', 'erp_nations') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['n_nationkey']) }} as version_rank
    from source

),

renamed as (

    select
        cast(n_nationkey as bigint) as nation_id,
        cast(n_name as varchar) as nation_name,
        cast(n_regionkey as bigint) as region_id,
        cast(n_comment as varchar) as nation_comment,
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
