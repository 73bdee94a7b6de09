-- A fact row may point to a dimension's unknown member only when that dimension has never
-- heard of the record: a customer, part or supplier that exists must be found, whatever the
-- order date (first versions reach back to 1900-01-01).
with fact_lines as (

    select * from {{ ref('fct_order_lines') }}

),

lost as (

    select
        fact_lines.order_id,
        fact_lines.line_number,
        'customer' as dimension
    from fact_lines
    where
        fact_lines.customer_sk = {{ unknown_member_key() }}
        and fact_lines.customer_id in (select customers.customer_id from {{ ref('dim_customers') }} as customers)

    union all

    select
        fact_lines.order_id,
        fact_lines.line_number,
        'part' as dimension
    from fact_lines
    where
        fact_lines.part_sk = {{ unknown_member_key() }}
        and fact_lines.part_id in (select parts.part_id from {{ ref('dim_parts') }} as parts)

    union all

    select
        fact_lines.order_id,
        fact_lines.line_number,
        'supplier' as dimension
    from fact_lines
    where
        fact_lines.supplier_sk = {{ unknown_member_key() }}
        and fact_lines.supplier_id in (select suppliers.supplier_id from {{ ref('dim_suppliers') }} as suppliers)

)

select * from lost
