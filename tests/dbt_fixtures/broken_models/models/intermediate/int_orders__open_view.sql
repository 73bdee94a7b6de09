-- A view: its not-null constraint is declared but never enforced, so it tests no nulls.
{{ config(materialized='view') }}

select
    order_id,
    order_date
from {{ ref('stg_erp__orders') }}
where not is_deleted
