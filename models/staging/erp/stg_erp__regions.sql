with latest as (

    {{ latest_versions(source('erp', 'erp_regions'), ['r_regionkey']) }}

),

renamed as (

    select
        cast(r_regionkey as bigint) as region_id,
        cast(r_name as {{ string_type() }}) as region_name,
        cast(r_comment as {{ string_type() }}) as region_comment,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
