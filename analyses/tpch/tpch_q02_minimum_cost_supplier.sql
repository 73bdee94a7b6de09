-- TPC-H Q2, asked of the marts: for each brass part of size 15, the European suppliers
-- that offer it at the lowest supply cost in Europe, richest supplier first.
with offers as (

    select * from {{ ref('dim_supplier_offers_current') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

european_offers as (

    select
        offers.part_id,
        offers.supply_cost,
        suppliers.account_balance,
        suppliers.supplier_name,
        suppliers.nation_name,
        suppliers.supplier_address,
        suppliers.supplier_phone,
        suppliers.supplier_comment
    from offers
    inner join suppliers
        on offers.supplier_id = suppliers.supplier_id
    where suppliers.region_name = 'EUROPE'

),

lowest_costs as (

    select
        part_id,
        min(supply_cost) as lowest_supply_cost
    from european_offers
    group by part_id

),

final as (

    select
        european_offers.account_balance,
        european_offers.supplier_name,
        european_offers.nation_name,
        parts.part_id,
        parts.manufacturer,
        european_offers.supplier_address,
        european_offers.supplier_phone,
        european_offers.supplier_comment
    from european_offers
    inner join parts
        on european_offers.part_id = parts.part_id
    inner join lowest_costs
        on
            european_offers.part_id = lowest_costs.part_id
            and european_offers.supply_cost = lowest_costs.lowest_supply_cost
    where
        parts.part_size = 15
        and parts.part_type like '%BRASS'

)

select * from final
order by
    account_balance desc,
    nation_name asc,
    supplier_name asc,
    part_id asc
limit 100
