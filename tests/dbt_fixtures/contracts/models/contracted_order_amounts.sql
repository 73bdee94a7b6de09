-- One row per order of the seed. `--vars '{plant_null: true}'` blanks the line count of
-- order 2, a column whose contract says not null.
select
    cast(order_id as bigint) as order_id,
    cast(
        case
            when {{ var('plant_null', false) }} and order_id = 2 then null
            else line_count
        end as integer
    ) as line_count,
    cast(amount as decimal(15, 2)) as amount,
    cast(note as varchar) as note
from {{ ref('order_amounts') }}
