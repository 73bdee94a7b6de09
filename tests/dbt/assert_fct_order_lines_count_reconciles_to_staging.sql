-- Every order line in staging whose order exists must reach the fact table: a join that
-- drops lines (a missing customer, a bad key) would silently understate revenue.
with staged_lines as (

    select count(*) as line_count
    from {{ ref('stg_erp__order_lines') }} as order_lines
    inner join {{ ref('stg_erp__orders') }} as orders
        on order_lines.order_id = orders.order_id
    where not order_lines.is_deleted and not orders.is_deleted

),

fact_lines as (

    select count(*) as line_count
    from {{ ref('fct_order_lines') }}

)

select
    staged_lines.line_count as staged_line_count,
    fact_lines.line_count as fact_line_count
from staged_lines
cross join fact_lines
where staged_lines.line_count <> fact_lines.line_count
