with latest as (

    {{ latest_versions(source('erp', 'erp_customers'), ['c_custkey'], keep_deletes=true) }}

),

renamed as (

    select
        cast(c_custkey as bigint) as customer_id,
        cast(c_name as varchar) as customer_name,
        cast(c_address as varchar) as customer_address,
        cast(c_nationkey as bigint) as nation_id,
        cast(c_phone as varchar) as customer_phone,
        cast(c_acctbal as decimal(15, 2)) as account_balance,
        cast(c_mktsegment as varchar) as market_segment,
        cast(c_comment as varchar) as customer_comment,
        is_deleted,
        cast(_business_date as timestamp) as version_effective_at,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
