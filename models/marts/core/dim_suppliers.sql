-- Suppliers as SCD type 2: one row per version, valid from valid_from up to (not including)
-- valid_to, with the country and region. Plus the unknown member.
with versions as (

    select * from {{ ref('int_suppliers__versioned') }}

),

geography as (

    select * from {{ ref('dim_geography') }}

),

known as (

    select
        {{ surrogate_key(['versions.supplier_id', 'versions.valid_from']) }} as supplier_sk,
        versions.supplier_id,
        versions.supplier_name,
        versions.supplier_address,
        versions.supplier_phone,
        versions.account_balance,
        versions.supplier_comment,
        versions.nation_id,
        geography.nation_name,
        geography.region_name,
        versions.valid_from,
        versions.valid_to,
        versions.is_current
    from versions
    left join geography
        on versions.nation_id = geography.nation_id

),

unknown_member as (

    select
        {{ unknown_member_key() }} as supplier_sk,
        cast(-1 as bigint) as supplier_id,
        cast('Unknown supplier' as {{ string_type() }}) as supplier_name,
        cast(null as {{ string_type() }}) as supplier_address,
        cast(null as {{ string_type() }}) as supplier_phone,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as {{ string_type() }}) as supplier_comment,
        cast(-1 as bigint) as nation_id,
        cast('Unknown' as {{ string_type() }}) as nation_name,
        cast('Unknown' as {{ string_type() }}) as region_name,
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
