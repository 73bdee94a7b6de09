-- The reports. Every date a fact carries lies inside dim_dates by construction, so a date's
-- month is computed where dbt's models join the calendar for it.
-- All lines of an order share its month and customer version, so the order-grain fact
-- gives the same totals from a quarter of the rows, and a plain count of orders.
create table reference_marts.rpt_monthly_revenue_by_region_segment as
select
    cast(date_trunc('month', orders.order_date) as date) as order_month,
    customers.region_name,
    customers.market_segment_name,
    cast(count(*) as integer) as order_count,
    cast(sum(orders.line_count) as integer) as line_count,
    cast(round(sum(orders.net_revenue), 2) as decimal(18, 2)) as net_revenue,
    cast(round(sum(orders.gross_margin), 2) as decimal(18, 2)) as gross_margin
from reference_marts.fct_orders as orders
inner join reference_marts.dim_customers as customers
    on orders.customer_sk = customers.customer_sk
group by
    cast(date_trunc('month', orders.order_date) as date),
    customers.region_name,
    customers.market_segment_name;

create table reference_marts.rpt_supplier_on_time_delivery as
with monthly as (

    select
        supplier_id,
        cast(date_trunc('month', receipt_date) as date) as receipt_month,
        cast(count(*) as integer) as received_line_count,
        cast(sum(case when days_late <= 0 then 1 else 0 end) as integer) as on_time_line_count,
        avg(days_late) as average_days_late
    from reference_marts.fct_order_lines
    where line_status = 'F'
    group by
        supplier_id,
        cast(date_trunc('month', receipt_date) as date)

)

select
    monthly.supplier_id,
    monthly.receipt_month,
    monthly.received_line_count,
    monthly.on_time_line_count,
    cast(
        round(1.0 * monthly.on_time_line_count / monthly.received_line_count, 4) as decimal(5, 4)
    ) as on_time_rate,
    cast(round(monthly.average_days_late, 2) as decimal(8, 2)) as average_days_late,
    coalesce(suppliers.supplier_name, 'Unknown supplier') as supplier_name,
    coalesce(suppliers.nation_name, 'Unknown') as supplier_nation_name
from monthly
left join reference_marts.dim_suppliers as suppliers
    on
        monthly.supplier_id = suppliers.supplier_id
        and suppliers.is_current
        and suppliers.supplier_id <> -1;

-- A customer's cohort is the month of its first order; in each later month it counts once.
create table reference_marts.rpt_customer_cohort_retention as
with first_orders as (

    select
        customer_id,
        min(order_date) as first_order_date
    from reference_marts.fct_orders
    where customer_id <> -1
    group by customer_id

),

cohorts as (

    select
        customer_id,
        cast(date_trunc('month', first_order_date) as date) as cohort_month,
        cast(extract(year from first_order_date) as integer) * 12
        + cast(extract(month from first_order_date) as integer) as cohort_month_number,
        count(*) over (partition by cast(date_trunc('month', first_order_date) as date)) as cohort_size
    from first_orders

),

activity as (

    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        cast(extract(year from orders.order_date) as integer) * 12
        + cast(extract(month from orders.order_date) as integer)
        - cohorts.cohort_month_number as months_since_first_order,
        count(distinct orders.customer_id) as active_customer_count
    from reference_marts.fct_orders as orders
    inner join cohorts
        on orders.customer_id = cohorts.customer_id
    group by
        cohorts.cohort_month,
        cohorts.cohort_size,
        cast(extract(year from orders.order_date) as integer) * 12
        + cast(extract(month from orders.order_date) as integer)
        - cohorts.cohort_month_number

)

select
    cohort_month,
    cast(months_since_first_order as integer) as months_since_first_order,
    cast(cohort_size as integer) as cohort_size,
    cast(active_customer_count as integer) as active_customer_count,
    cast(round(1.0 * active_customer_count / cohort_size, 4) as decimal(5, 4)) as retention_rate
from activity;

drop schema reference_scratch cascade;

reset search_path;
