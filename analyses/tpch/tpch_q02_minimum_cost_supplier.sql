-- TPC-H Q2, asked of the marts: for each brass part of size 15, the European suppliers
-- that offer it at the lowest supply cost in Europe, richest supplier first.
with parts as (

    select * from {{ ref('dim_parts_current') }}
    where part_size = 15 and part_type like '%BRASS'

),

offers as (

    select * from {{ ref('dim_supplier_offers_current') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

-- European offers of the parts asked about only: the lowest cost is wanted for no other part.
european_offers as (

    select
        offers.part_id,
        offers.supply_cost,
        parts.manufacturer,
        suppliers.account_balance,
        suppliers.supplier_name,
        suppliers.nation_name,
        suppliers.supplier_address,
        suppliers.supplier_phone,
        suppliers.supplier_comment
    from offers
    inner join parts
        on offers.part_id = parts.part_id
    inner join suppliers
        on offers.supplier_id = suppliers.supplier_id
    where suppliers.region_name = 'EUROPE'

),

-- The lowest European cost of each part beside each offer: one pass, no second read.
priced_against_lowest as (

    select
        *,
        min(supply_cost) over (partition by part_id) as lowest_supply_cost
    from european_offers

),

final as (

    select
        account_balance,
        supplier_name,
        nation_name,
        part_id,
        manufacturer,
        supplier_address,
        supplier_phone,
        supplier_comment
    from priced_against_lowest
    where supply_cost = lowest_supply_cost

)

select * from final
order by
    account_balance desc,
    nation_name asc,
    supplier_name asc,
    part_id asc
limit 100
