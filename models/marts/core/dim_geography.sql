-- One row per nation with its region and ISO codes, plus the unknown member (nation_id -1)
-- that facts point to when a customer's or supplier's nation is not known.
with nations as (

    select * from {{ ref('stg_erp__nations') }}

),

regions as (

    select * from {{ ref('stg_erp__regions') }}

),

iso_codes as (

    select * from {{ ref('nation_iso_codes') }}

),

known as (

    select
        nations.nation_id,
        nations.nation_name,
        iso_codes.iso_alpha2,
        iso_codes.iso_alpha3,
        iso_codes.iso_numeric,
        regions.region_id,
        regions.region_name
    from nations
    left join regions
        on nations.region_id = regions.region_id
    left join iso_codes
        on nations.nation_name = iso_codes.nation_name

),

unknown_member as (

    select
        cast(-1 as bigint) as nation_id,
        cast('Unknown' as {{ string_type() }}) as nation_name,
        cast(null as {{ string_type() }}) as iso_alpha2,
        cast(null as {{ string_type() }}) as iso_alpha3,
        cast(null as {{ string_type() }}) as iso_numeric,
        cast(-1 as bigint) as region_id,
        cast('Unknown' as {{ string_type() }}) as region_name

),

final as (

    select * from known
    union all
    select * from unknown_member

)

select * from final
