-- TPC-H Q11, asked of the marts: the parts German suppliers hold the most stock value of,
-- each over 0.01% of all the stock they hold.
with offers as (

    select * from {{ ref('dim_supplier_offers_current') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

german_offers as (

    select
        offers.part_id,
        offers.supply_cost * offers.available_quantity as stock_value
    from offers
    inner join suppliers
        on offers.supplier_id = suppliers.supplier_id
    where suppliers.nation_name = 'GERMANY'

),

final as (

    select
        part_id,
        sum(stock_value) as stock_value
    from german_offers
    group by part_id
    having sum(stock_value) > (
            select sum(every_offer.stock_value) * 0.0001 as stock_value_threshold
            from german_offers as every_offer
        )

)

select * from final
order by
    stock_value desc,
    part_id asc
