-- The supplier offers as they stand now: the current version of each.
{{ config(materialized='view') }}

select
    supplier_offer_sk,
    part_id,
    supplier_id,
    available_quantity,
    supply_cost,
    offer_comment,
    valid_from,
    valid_to,
    is_current
from {{ ref('dim_supplier_offers') }}
where is_current
