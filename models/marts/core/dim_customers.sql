with customers as (

    select * from {{ ref('stg_erp__customers') }}

),

nations as (

    select * from {{ ref('stg_erp__nations') }}

),

regions as (

    select * from {{ ref('stg_erp__regions') }}

),

final as (

    select
        cast({{ surrogate_key(['customers.customer_id']) }} as varchar) as customer_sk,
        customers.customer_id,
        customers.customer_name,
        customers.customer_address,
        customers.customer_phone,
        customers.market_segment,
        customers.account_balance,
        customers.nation_id,
        nations.nation_name,
        regions.region_name
    from customers
    left join nations
        on customers.nation_id = nations.nation_id
    left join regions
        on nations.region_id = regions.region_id

)

select * from final
