-- The customers as they are now: the current version of each, without the unknown member.
{{ config(materialized='view') }}

select
    customer_sk,
    customer_id,
    customer_name,
    customer_address,
    customer_phone,
    market_segment,
    market_segment_name,
    account_balance,
    customer_comment,
    nation_id,
    nation_name,
    region_name,
    valid_from,
    valid_to,
    is_current
from {{ ref('dim_customers') }}
where is_current and customer_id <> -1
