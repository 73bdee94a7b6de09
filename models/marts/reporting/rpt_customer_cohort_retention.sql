-- Customer retention by cohort: customers grouped by the month of their first order, and
-- for each later month, how many of them ordered again and what share of the cohort that is.
with orders as (

    select * from {{ ref('fct_orders') }}
    where customer_id <> -1

),

order_months as (

    select distinct
        orders.customer_id,
        dates.first_day_of_month as order_month,
        dates.calendar_year * 12 + dates.month_of_year as month_number
    from orders
    inner join {{ ref('dim_dates') }} as dates
        on orders.order_date = dates.date_day

),

first_months as (

    select
        customer_id,
        min(order_month) as cohort_month,
        min(month_number) as cohort_month_number
    from order_months
    group by customer_id

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size
    from first_months
    group by cohort_month

),

activity as (

    select
        first_months.cohort_month,
        order_months.month_number - first_months.cohort_month_number as months_since_first_order,
        count(*) as active_customer_count
    from order_months
    inner join first_months
        on order_months.customer_id = first_months.customer_id
    group by
        first_months.cohort_month,
        order_months.month_number - first_months.cohort_month_number

),

final as (

    select
        activity.cohort_month,
        cast(activity.months_since_first_order as integer) as months_since_first_order,
        cast(cohort_sizes.cohort_size as integer) as cohort_size,
        cast(activity.active_customer_count as integer) as active_customer_count,
        cast(
            round(1.0 * activity.active_customer_count / cohort_sizes.cohort_size, 4) as decimal(5, 4)
        ) as retention_rate
    from activity
    inner join cohort_sizes
        on activity.cohort_month = cohort_sizes.cohort_month

)

select * from final
