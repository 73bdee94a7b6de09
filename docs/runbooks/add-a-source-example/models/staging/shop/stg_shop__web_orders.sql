with latest as (

    {{ latest_versions(source('shop', 'shop_web_orders'), ['web_order_id']) }}

),

renamed as (

    select
        cast(web_order_id as bigint) as web_order_id,
        cast(placed_on as date) as placed_date,
        cast(basket_value as decimal(12, 2)) as basket_value,
        cast(voucher_code as varchar) as voucher_code,
        {{ source_version_columns() }}
    from latest

)

select * from renamed
