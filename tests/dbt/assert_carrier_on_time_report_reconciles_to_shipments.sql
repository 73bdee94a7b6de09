-- Every delivered shipment is counted in the monthly on-time report, once: a delivery date
-- the calendar does not hold would drop out of its join and understate the deliveries.
with reported as (

    select
        sum(delivered_shipment_count) as delivered,
        sum(on_time_shipment_count) as on_time
    from {{ ref('rpt_carrier_on_time_delivery') }}

),

shipped as (

    select
        count(*) as delivered,
        sum(case when is_delivered_on_time then 1 else 0 end) as on_time
    from {{ ref('fct_shipments') }}
    where delivered_date is not null

)

select
    reported.delivered as reported_deliveries,
    shipped.delivered as shipment_deliveries,
    reported.on_time as reported_on_time,
    shipped.on_time as shipment_on_time
from reported
cross join shipped
where
    coalesce(reported.delivered, 0) <> shipped.delivered
    or coalesce(reported.on_time, 0) <> coalesce(shipped.on_time, 0)
