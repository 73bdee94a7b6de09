with latest as (

    {{ latest_versions(source('erp', 'erp_suppliers'), ['s_suppkey']) }}

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
        {{ source_version_columns() }}
    from latest

)

select * from renamed
