-- For each month of delivery: the shipments the carrier delivered, how many on time by its
-- scans, how many by the ERP's receipt dates, and the shipments behind any difference (the
-- ERP booked the receipt on another day than the carrier delivered, or has no such order
-- line: cancelled, or not loaded). Rates are rounded here, for presentation; the counts
-- are exact.
with shipments as (

    select * from {{ ref('fct_shipments') }}
    where delivered_date is not null

),

dates as (

    select * from {{ ref('dim_dates') }}

),

monthly as (

    select
        dates.first_day_of_month as delivery_month,
        cast(count(*) as integer) as delivered_shipment_count,
        cast(sum(case when shipments.is_delivered_on_time then 1 else 0 end) as integer) as on_time_shipment_count,
        cast(
            sum(case when shipments.is_received_on_time_per_erp then 1 else 0 end) as integer
        ) as erp_on_time_shipment_count,
        cast(
            sum(case when shipments.days_receipt_booked_after_delivery <> 0 then 1 else 0 end) as integer
        ) as receipt_booked_another_day_count,
        cast(sum(case when shipments.is_in_erp then 0 else 1 end) as integer) as not_in_erp_count
    from shipments
    inner join dates
        on shipments.delivered_date = dates.date_day
    group by dates.first_day_of_month

),

final as (

    select
        delivery_month,
        delivered_shipment_count,
        on_time_shipment_count,
        erp_on_time_shipment_count,
        receipt_booked_another_day_count,
        not_in_erp_count,
        cast(
            round(1.0 * on_time_shipment_count / nullif(delivered_shipment_count - not_in_erp_count, 0), 4)
            as decimal(5, 4)
        ) as on_time_rate,
        cast(
            round(1.0 * erp_on_time_shipment_count / nullif(delivered_shipment_count - not_in_erp_count, 0), 4)
            as decimal(5, 4)
        ) as erp_on_time_rate
    from monthly

)

select * from final
