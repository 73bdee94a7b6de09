-- For each supplier and month of receipt: how many shipped lines arrived by the date the
-- business committed to, and the share on time.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where line_status = 'F'

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

monthly as (

    select
        order_lines.supplier_id,
        dates.first_day_of_month as receipt_month,
        cast(count(*) as integer) as received_line_count,
        cast(sum(case when order_lines.days_late <= 0 then 1 else 0 end) as integer) as on_time_line_count,
        avg(order_lines.days_late) as average_days_late
    from order_lines
    inner join dates
        on order_lines.receipt_date = dates.date_day
    group by
        order_lines.supplier_id,
        dates.first_day_of_month

),

final as (

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
    left join suppliers
        on monthly.supplier_id = suppliers.supplier_id

)

select * from final
