-- Every version of every record the ERP delivered, renamed and typed: the history that
-- int_customers__versioned turns into validity ranges. Nothing is dropped or ranked here.
with deliveries as (

    select * from {{ source('erp', 'erp_customers') }}

),

renamed as (

    select
        cast(c_custkey as bigint) as customer_id,
        cast(c_name as {{ string_type() }}) as customer_name,
        cast(c_address as {{ string_type() }}) as customer_address,
        cast(c_nationkey as bigint) as nation_id,
        cast(c_phone as {{ string_type() }}) as customer_phone,
        cast(c_acctbal as decimal(15, 2)) as account_balance,
        cast(c_mktsegment as {{ string_type() }}) as market_segment,
        cast(c_comment as {{ string_type() }}) as customer_comment,
        _op = 'delete' as is_deleted,
        cast(_op as {{ string_type() }}) as change_operation,
        _source_row as source_row,
        {{ source_version_columns() }}
    from deliveries

)

select * from renamed
