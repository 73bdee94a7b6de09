-- Every version of every record the ERP delivered, renamed and typed: the history that
-- int_part_suppliers__versioned turns into validity ranges. Nothing is dropped or ranked here.
with deliveries as (

    select * from {{ source('erp', 'erp_part_suppliers') }}

),

renamed as (

    select
        cast(ps_partkey as bigint) as part_id,
        cast(ps_suppkey as bigint) as supplier_id,
        cast(ps_availqty as integer) as available_quantity,
        cast(ps_supplycost as decimal(15, 2)) as supply_cost,
        cast(ps_comment as {{ string_type() }}) as offer_comment,
        _op = 'delete' as is_deleted,
        cast(_op as {{ string_type() }}) as change_operation,
        _source_row as source_row,
        {{ source_version_columns() }}
    from deliveries

)

select * from renamed
