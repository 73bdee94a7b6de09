with latest as (

    {{ latest_versions(source('erp', 'erp_nations'), ['n_nationkey']) }}

),

renamed as (

    select
        cast(n_nationkey as bigint) as nation_id,
        cast(n_name as {{ string_type() }}) as nation_name,
        cast(n_regionkey as bigint) as region_id,
        cast(n_comment as {{ string_type() }}) as nation_comment,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
