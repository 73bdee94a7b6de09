-- TPC-H Q14, asked of the marts: the share of September 1995 revenue that came from
-- promotional parts, in percent.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}

),

final as (

    select
        100.00 * sum(case when parts.part_type like 'PROMO%' then order_lines.net_revenue else 0 end)
        / sum(order_lines.net_revenue) as promotion_revenue_percent
    from order_lines
    inner join parts
        on order_lines.part_id = parts.part_id
    where
        order_lines.ship_date >= date '1995-09-01'
        and order_lines.ship_date < date '1995-10-01'

)

select * from final
