with latest as (

    {{ latest_versions(source('erp', 'erp_suppliers'), ['s_suppkey'], keep_deletes=true) }}

),

renamed as (

    select
        cast(s_suppkey as bigint) as supplier_id,
        cast(s_name as varchar) as supplier_name,
        cast(s_address as varchar) as supplier_address,
        cast(s_nationkey as bigint) as nation_id,
        cast(s_phone as varchar) as supplier_phone,
        cast(s_acctbal as decimal(15, 2)) as account_balance,
        cast(s_comment as varchar) as supplier_comment,
        is_deleted,
        cast(_business_date as timestamp) as version_effective_at,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
