select
    web_order_id,
    placed_date,
    basket_value,
    voucher_code,
    voucher_code is not null as is_voucher_redeemed
from {{ ref('stg_shop__web_orders') }}
