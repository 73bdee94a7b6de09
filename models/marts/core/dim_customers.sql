-- Customer accounts as SCD type 2: one row per version, valid from valid_from up to (not
-- including) valid_to, with the country, region and segment names. Plus the unknown member.
with versions as (

    select * from {{ ref('int_customers__versioned') }}

),

geography as (

    select * from {{ ref('dim_geography') }}

),

segments as (

    select * from {{ ref('market_segments') }}

),

known as (

    select
        {{ surrogate_key(['versions.customer_id', 'versions.valid_from']) }} as customer_sk,
        versions.customer_id,
        versions.customer_name,
        versions.customer_address,
        versions.customer_phone,
        versions.market_segment,
        segments.segment_name as market_segment_name,
        versions.account_balance,
        versions.customer_comment,
        versions.nation_id,
        geography.nation_name,
        geography.region_name,
        versions.valid_from,
        versions.valid_to,
        versions.is_current
    from versions
    left join geography
        on versions.nation_id = geography.nation_id
    left join segments
        on versions.market_segment = segments.market_segment

),

unknown_member as (

    select
        {{ unknown_member_key() }} as customer_sk,
        cast(-1 as bigint) as customer_id,
        cast('Unknown customer' as {{ string_type() }}) as customer_name,
        cast(null as {{ string_type() }}) as customer_address,
        cast(null as {{ string_type() }}) as customer_phone,
        cast(null as {{ string_type() }}) as market_segment,
        cast('Unknown' as {{ string_type() }}) as market_segment_name,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as {{ string_type() }}) as customer_comment,
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
