-- The carrier's events, straight from raw: the first delivered copy of each event, numbered
-- within its shipment by event time; each shipment's pick-up, delivery and latest status
-- beside the ERP's order line; the monthly on-time report.
create table reference_marts.fct_shipment_events as
with first_delivered as (

    select
        *,
        row_number() over (
            partition by event_id
            order by _business_date, _batch_id, _source_row
        ) as delivery_rank
    from raw.carrier_shipment_events

)

select
    cast(event_id as varchar) as event_id,
    cast(tracking_number as varchar) as tracking_number,
    cast(order_key as bigint) as order_id,
    cast(line_number as integer) as line_number,
    cast(row_number() over (partition by tracking_number order by event_at, event_id) as integer) as event_sequence,
    cast(event_type as varchar) as event_type,
    cast(event_at as timestamp) as event_at,
    cast(event_at as date) as event_date,
    cast(location as varchar) as location_name,
    cast(exception_code as varchar) as exception_code,
    cast(_business_date as date) as arrived_on,
    cast(_business_date - cast(event_at as date) as integer) as days_arrived_late
from first_delivered
where delivery_rank = 1;

create table reference_marts.fct_shipments as
with shipments as (

    select
        tracking_number,
        order_id,
        line_number,
        min(case when event_type = 'picked_up' then event_at end) as picked_up_at,
        min(case when event_type = 'delivered' then event_at end) as delivered_at,
        count(*) as event_count,
        sum(case when event_type = 'exception' then 1 else 0 end) as exception_count,
        max(event_sequence) as last_sequence
    from reference_marts.fct_shipment_events
    group by tracking_number, order_id, line_number

)

select
    shipments.tracking_number,
    shipments.order_id,
    shipments.line_number,
    lines.supplier_id,
    latest.event_type as current_status,
    shipments.picked_up_at,
    shipments.delivered_at,
    cast(shipments.delivered_at as date) as delivered_date,
    cast(shipments.event_count as integer) as event_count,
    cast(shipments.exception_count as integer) as exception_count,
    lines.commit_date,
    lines.receipt_date as erp_receipt_date,
    lines.order_id is not null as is_in_erp,
    case
        when shipments.delivered_at is not null and lines.order_id is not null
            then cast(shipments.delivered_at as date) <= lines.commit_date
    end as is_delivered_on_time,
    case
        when shipments.delivered_at is not null and lines.order_id is not null
            then lines.receipt_date <= lines.commit_date
    end as is_received_on_time_per_erp,
    cast(lines.receipt_date - cast(shipments.delivered_at as date) as integer) as days_receipt_booked_after_delivery
from shipments
inner join reference_marts.fct_shipment_events as latest
    on shipments.tracking_number = latest.tracking_number and shipments.last_sequence = latest.event_sequence
left join reference_marts.fct_order_lines as lines
    on shipments.order_id = lines.order_id and shipments.line_number = lines.line_number;

create table reference_marts.rpt_carrier_on_time_delivery as
with monthly as (

    select
        cast(date_trunc('month', delivered_date) as date) as delivery_month,
        count(*) as delivered_shipment_count,
        sum(case when is_delivered_on_time then 1 else 0 end) as on_time_shipment_count,
        sum(case when is_received_on_time_per_erp then 1 else 0 end) as erp_on_time_shipment_count,
        sum(case when days_receipt_booked_after_delivery <> 0 then 1 else 0 end) as receipt_booked_another_day_count,
        sum(case when is_in_erp then 0 else 1 end) as not_in_erp_count
    from reference_marts.fct_shipments
    where delivered_date is not null
    group by 1

)

select
    delivery_month,
    cast(delivered_shipment_count as integer) as delivered_shipment_count,
    cast(on_time_shipment_count as integer) as on_time_shipment_count,
    cast(erp_on_time_shipment_count as integer) as erp_on_time_shipment_count,
    cast(receipt_booked_another_day_count as integer) as receipt_booked_another_day_count,
    cast(not_in_erp_count as integer) as not_in_erp_count,
    cast(
        round(1.0 * on_time_shipment_count / nullif(delivered_shipment_count - not_in_erp_count, 0), 4)
        as decimal(5, 4)
    ) as on_time_rate,
    cast(
        round(1.0 * erp_on_time_shipment_count / nullif(delivered_shipment_count - not_in_erp_count, 0), 4)
        as decimal(5, 4)
    ) as erp_on_time_rate
from monthly;
