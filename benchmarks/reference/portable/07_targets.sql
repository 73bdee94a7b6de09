-- Finance's targets, straight from raw: the newest delivered version of each cell, its labels
-- trimmed and upper-cased (finance labels a segment by its display name), then the monthly
-- revenue report against them.
create table reference_marts.fct_sales_targets as
with segments (market_segment, segment_name) as (

    values
    ('AUTOMOBILE', 'Automotive'),
    ('BUILDING', 'Building'),
    ('FURNITURE', 'Furniture'),
    ('HOUSEHOLD', 'Household'),
    ('MACHINERY', 'Machinery')

),

delivered as (

    select
        target_month,
        upper(trim(region)) as region_name,
        upper(trim(segment)) as segment_label,
        revenue_target,
        _op,
        row_number() over (
            partition by target_month, upper(trim(region)), upper(trim(segment))
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as newest_first
    from raw.finance_sales_targets

)

select
    cast(delivered.target_month as date) as target_month,
    cast(delivered.region_name as varchar) as region_name,
    cast(segments.market_segment as varchar) as market_segment,
    cast(segments.segment_name as varchar) as market_segment_name,
    cast(delivered.revenue_target as decimal(15, 2)) as revenue_target
from delivered
inner join segments
    on delivered.segment_label = upper(segments.segment_name)
where delivered.newest_first = 1 and delivered._op <> 'delete';

create table reference_marts.rpt_revenue_against_target as
select
    coalesce(targets.target_month, revenue.order_month) as report_month,
    coalesce(targets.region_name, revenue.region_name) as region_name,
    coalesce(targets.market_segment_name, revenue.market_segment_name) as market_segment_name,
    cast(coalesce(revenue.net_revenue, 0) as decimal(18, 2)) as net_revenue,
    targets.revenue_target,
    cast(coalesce(revenue.net_revenue, 0) - targets.revenue_target as decimal(18, 2)) as revenue_over_target,
    cast(
        round(coalesce(revenue.net_revenue, 0) / nullif(targets.revenue_target, 0), 4) as decimal(9, 4)
    ) as target_attainment
from reference_marts.fct_sales_targets as targets
full outer join reference_marts.rpt_monthly_revenue_by_region_segment as revenue
    on
        targets.target_month = revenue.order_month
        and targets.region_name = revenue.region_name
        and targets.market_segment_name = revenue.market_segment_name;
