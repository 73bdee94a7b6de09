-- Supplier offers as SCD type 2: what each supplier offers of each part (units available
-- and the supply cost), one row per version, valid from valid_from up to (not including)
-- valid_to. Join a fact on (part_id, supplier_id) and its date within the range for the
-- offer as it stood then, or read dim_supplier_offers_current for the offers as they are.
with versions as (

    select * from {{ ref('int_part_suppliers__versioned') }}

),

final as (

    select
        {{ surrogate_key(['part_id', 'supplier_id', 'valid_from']) }} as supplier_offer_sk,
        part_id,
        supplier_id,
        available_quantity,
        supply_cost,
        offer_comment,
        valid_from,
        valid_to,
        is_current
    from versions

)

select * from final
