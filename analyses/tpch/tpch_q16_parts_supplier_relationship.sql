-- TPC-H Q16, asked of the marts: how many suppliers, without customer complaints on record,
-- offer parts of the given sizes outside brand 45 and the MEDIUM POLISHED types.
with offers as (

    select * from {{ ref('dim_supplier_offers_current') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}
    where
        brand <> 'Brand#45'
        and part_type not like 'MEDIUM POLISHED%'
        and part_size in (49, 14, 23, 45, 19, 3, 36, 9)

),

complained_of as (

    select supplier_id from {{ ref('dim_suppliers_current') }}
    where supplier_comment like '%Customer%Complaints%'

),

final as (

    select
        parts.brand,
        parts.part_type,
        parts.part_size,
        count(distinct offers.supplier_id) as supplier_count
    from offers
    inner join parts
        on offers.part_id = parts.part_id
    where offers.supplier_id not in (select complained_of.supplier_id from complained_of)
    group by
        parts.brand,
        parts.part_type,
        parts.part_size

)

select * from final
order by
    supplier_count desc,
    brand asc,
    part_type asc,
    part_size asc
