-- A fact row may point to a dimension's unknown member only when that dimension has never
-- heard of the record: a customer, part or supplier that exists must be found, whatever the
-- order date (first versions reach back to 1900-01-01).
--
-- The fact is read once: the rows that point to any unknown member are few, and each
-- dimension is checked against those only.
with unknown_member_lines as (

    select
        order_id,
        line_number,
        customer_id,
        part_id,
        supplier_id,
        customer_sk = {{ unknown_member_key() }} as is_customer_unknown,
        part_sk = {{ unknown_member_key() }} as is_part_unknown,
        supplier_sk = {{ unknown_member_key() }} as is_supplier_unknown
    from {{ ref('fct_order_lines') }}
    where
        customer_sk = {{ unknown_member_key() }}
        or part_sk = {{ unknown_member_key() }}
        or supplier_sk = {{ unknown_member_key() }}

),

lost as (

    select
        order_id,
        line_number,
        'customer' as dimension
    from unknown_member_lines
    where
        is_customer_unknown
        and customer_id in (select customers.customer_id from {{ ref('dim_customers') }} as customers)

    union all

    select
        order_id,
        line_number,
        'part' as dimension
    from unknown_member_lines
    where
        is_part_unknown
        and part_id in (select parts.part_id from {{ ref('dim_parts') }} as parts)

    union all

    select
        order_id,
        line_number,
        'supplier' as dimension
    from unknown_member_lines
    where
        is_supplier_unknown
        and supplier_id in (select suppliers.supplier_id from {{ ref('dim_suppliers') }} as suppliers)

)

select * from lost
