-- Net revenue per month, sales region and market segment against finance's target for it.
-- A month with a target and no orders yet has revenue 0; revenue without a target (the
-- months before finance's first, the unknown customer) has none, and no attainment.
with revenue as (

    select * from {{ ref('rpt_monthly_revenue_by_region_segment') }}

),

targets as (

    select * from {{ ref('fct_sales_targets') }}

),

final as (

    select
        targets.revenue_target,
        cast(coalesce(revenue.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(coalesce(revenue.net_revenue, 0) - targets.revenue_target as decimal(18, 2)) as revenue_over_target,
        -- Rounded here, the presentation step: a share of the target to a hundredth of a percent.
        cast(
            round(coalesce(revenue.net_revenue, 0) / nullif(targets.revenue_target, 0), 4) as decimal(9, 4)
        ) as target_attainment,
        coalesce(targets.target_month, revenue.order_month) as report_month,
        coalesce(targets.region_name, revenue.region_name) as region_name,
        coalesce(targets.market_segment_name, revenue.market_segment_name) as market_segment_name
    from targets
    full outer join revenue
        on
            targets.target_month = revenue.order_month
            and targets.region_name = revenue.region_name
            and targets.market_segment_name = revenue.market_segment_name

)

select * from final
