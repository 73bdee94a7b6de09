with latest as (

    {{ latest_versions(source('erp', 'erp_parts'), ['p_partkey'], keep_deletes=true) }}

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
        is_deleted,
        cast(_business_date as timestamp) as version_effective_at,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
