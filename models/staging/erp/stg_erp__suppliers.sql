-- Every version of every record the ERP delivered, renamed and typed: the history that
-- int_suppliers__versioned turns into validity ranges. Nothing is dropped or ranked here.
with deliveries as (

    select * from {{ source('erp', 'erp_suppliers') }}

),

renamed as (

    select
        cast(s_suppkey as bigint) as supplier_id,
        cast(s_name as {{ string_type() }}) as supplier_name,
        cast(s_address as {{ string_type() }}) as supplier_address,
        cast(s_nationkey as bigint) as nation_id,
        cast(s_phone as {{ string_type() }}) as supplier_phone,
        cast(s_acctbal as decimal(15, 2)) as account_balance,
        cast(s_comment as {{ string_type() }}) as supplier_comment,
        _op = 'delete' as is_deleted,
        cast(_op as {{ string_type() }}) as change_operation,
        _source_row as source_row,
        {{ source_version_columns() }}
    from deliveries

)

select * from renamed
