-- TPC-H Q20, asked of the marts: Canadian suppliers holding more than half of what they
-- shipped in 1994 of some "forest" part, candidates for a promotion of it.
with forest_parts as (

    select part_id from {{ ref('dim_parts_current') }}
    where part_name like 'forest%'

),

offers as (

    select * from {{ ref('dim_supplier_offers_current') }}
    where part_id in (select forest_parts.part_id from forest_parts)

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

-- Only the forest parts' lines are summed: the question asks about no other part.
shipped_in_1994 as (

    select
        part_id,
        supplier_id,
        sum(quantity) as shipped_quantity
    from {{ ref('fct_order_lines') }}
    where
        ship_date >= date '1994-01-01'
        and ship_date < date '1995-01-01'
        and part_id in (select forest_parts.part_id from forest_parts)
    group by
        part_id,
        supplier_id

),

overstocked as (

    select offers.supplier_id
    from offers
    inner join shipped_in_1994
        on
            offers.part_id = shipped_in_1994.part_id
            and offers.supplier_id = shipped_in_1994.supplier_id
    where offers.available_quantity > 0.5 * shipped_in_1994.shipped_quantity

),

final as (

    select
        supplier_name,
        supplier_address
    from suppliers
    where
        nation_name = 'CANADA'
        and supplier_id in (select overstocked.supplier_id from overstocked)

)

select * from final
order by supplier_name
