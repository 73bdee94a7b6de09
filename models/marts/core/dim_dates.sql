-- One row per calendar day from the first order date to the last date any order line or
-- batch mentions, so every date a fact carries joins to exactly one row here.
with order_dates as (

    select
        min(order_date) as first_date,
        max(greatest(order_date, source_business_date)) as last_date
    from {{ ref('stg_erp__orders') }}
    where not is_deleted

),

line_dates as (

    select
        min(least(ship_date, commit_date, receipt_date)) as first_date,
        max(greatest(ship_date, commit_date, receipt_date)) as last_date
    from {{ ref('stg_erp__order_lines') }}
    where not is_deleted

),

bounds as (

    select
        least(order_dates.first_date, line_dates.first_date) as first_date,
        greatest(order_dates.last_date, line_dates.last_date) as last_date
    from order_dates
    cross join line_dates

),

spine as (

    select calendar_day as date_day
    from ({{ calendar_days('bounds', 'first_date', 'last_date') }}) as calendar

),

parts as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(quarter from date_day) as integer) as calendar_quarter,
        cast(extract(month from date_day) as integer) as month_of_year,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(doy from date_day) as integer) as day_of_year,
        cast({{ iso_day_of_week('date_day') }} as integer) as iso_day_of_week,
        cast(extract(week from date_day) as integer) as iso_week_of_year,
        cast(date_trunc('month', date_day) as date) as first_day_of_month
    from spine

),

final as (

    select
        date_day,
        calendar_year,
        calendar_quarter,
        month_of_year,
        day_of_month,
        day_of_year,
        iso_day_of_week,
        iso_week_of_year,
        first_day_of_month,
        cast(calendar_year as {{ string_type() }})
        || '-'
        || lpad(cast(month_of_year as {{ string_type() }}), 2, '0') as year_month_label,
        -- Names spelled out: the engines' own month and day name functions differ.
        case month_of_year
            when 1 then 'January'
            when 2 then 'February'
            when 3 then 'March'
            when 4 then 'April'
            when 5 then 'May'
            when 6 then 'June'
            when 7 then 'July'
            when 8 then 'August'
            when 9 then 'September'
            when 10 then 'October'
            when 11 then 'November'
            else 'December'
        end as month_name,
        case iso_day_of_week
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
            else 'Sunday'
        end as day_name,
        iso_day_of_week in (6, 7) as is_weekend
    from parts

)

select * from final
