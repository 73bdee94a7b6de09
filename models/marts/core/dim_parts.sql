-- Parts as SCD type 2: one row per version (the retail price changes), valid from
-- valid_from up to (not including) valid_to. Plus the unknown member.
with versions as (

    select * from {{ ref('int_parts__versioned') }}

),

known as (

    select
        {{ surrogate_key(['part_id', 'valid_from']) }} as part_sk,
        part_id,
        part_name,
        manufacturer,
        brand,
        part_type,
        part_size,
        container,
        retail_price,
        part_comment,
        valid_from,
        valid_to,
        is_current
    from versions

),

unknown_member as (

    select
        {{ unknown_member_key() }} as part_sk,
        cast(-1 as bigint) as part_id,
        cast('Unknown part' as {{ string_type() }}) as part_name,
        cast(null as {{ string_type() }}) as manufacturer,
        cast(null as {{ string_type() }}) as brand,
        cast(null as {{ string_type() }}) as part_type,
        cast(null as integer) as part_size,
        cast(null as {{ string_type() }}) as container,
        cast(null as decimal(15, 2)) as retail_price,
        cast(null as {{ string_type() }}) as part_comment,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to,
        true as is_current

),

final as (

    select * from known
    union all
    select * from unknown_member

)

select * from final
