-- The parts as they are now: the current version of each, without the unknown member.
{{ config(materialized='view') }}

select
    part_sk,
    part_id,
    part_name,
    manufacturer,
    brand,
    part_type,
    part_size,
    container,
    retail_price,
    part_comment,
    valid_from,
    valid_to,
    is_current
from {{ ref('dim_parts') }}
where is_current and part_id <> -1
