with latest as (

    {{ latest_versions(source('erp', 'erp_part_suppliers'), ['ps_partkey', 'ps_suppkey'], keep_deletes=true) }}

),

renamed as (

    select
        cast(ps_partkey as bigint) as part_id,
        cast(ps_suppkey as bigint) as supplier_id,
        cast(ps_availqty as integer) as available_quantity,
        cast(ps_supplycost as decimal(15, 2)) as supply_cost,
        cast(ps_comment as varchar) as offer_comment,
        is_deleted,
        cast(_business_date as timestamp) as version_effective_at,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
