with source as (

    select * from {{ source('erp', 'erp_part_suppliers') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['ps_partkey', 'ps_suppkey']) }} as version_rank
    from source

),

renamed as (

    select
        cast(ps_partkey as bigint) as part_id,
        cast(ps_suppkey as bigint) as supplier_id,
        cast(ps_availqty as integer) as available_quantity,
        cast(ps_supplycost as decimal(15, 2)) as supply_cost,
        cast(ps_comment as varchar) as offer_comment,
        _batch_id as source_batch_id,
        _business_date as source_business_date,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1 and _op <> 'delete'

)

select * from renamed
