-- The suppliers as they are now: the current version of each, without the unknown member.
{{ config(materialized='view') }}

select
    supplier_sk,
    supplier_id,
    supplier_name,
    supplier_address,
    supplier_phone,
    account_balance,
    supplier_comment,
    nation_id,
    nation_name,
    region_name,
    valid_from,
    valid_to,
    is_current
from {{ ref('dim_suppliers') }}
where is_current and supplier_id <> -1
