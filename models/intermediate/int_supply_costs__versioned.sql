-- What each supplier charged for each part, version by version, as half-open date ranges:
-- the cost valid at an order's date is the one its gross margin uses.
with versions as (

    select * from {{ ref('int_part_suppliers__versioned') }}

),

final as (

    select
        part_id,
        supplier_id,
        supply_cost,
        valid_from,
        valid_to
    from versions

)

select * from final
