-- Every version of every record the ERP delivered, renamed and typed: the history that
-- int_parts__versioned turns into validity ranges. Nothing is dropped or ranked here.
with deliveries as (

    select * from {{ source('erp', 'erp_parts') }}

),

renamed as (

    select
        cast(p_partkey as bigint) as part_id,
        cast(p_name as {{ string_type() }}) as part_name,
        cast(p_mfgr as {{ string_type() }}) as manufacturer,
        cast(p_brand as {{ string_type() }}) as brand,
        cast(p_type as {{ string_type() }}) as part_type,
        cast(p_size as integer) as part_size,
        cast(p_container as {{ string_type() }}) as container,
        cast(p_retailprice as decimal(15, 2)) as retail_price,
        cast(p_comment as {{ string_type() }}) as part_comment,
        _op = 'delete' as is_deleted,
        cast(_op as {{ string_type() }}) as change_operation,
        _source_row as source_row,
        {{ source_version_columns() }}
    from deliveries

)

select * from renamed
