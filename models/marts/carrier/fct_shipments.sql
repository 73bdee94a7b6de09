-- One row per shipment the carrier tracks (one ERP order line): its pick-up and delivery as
-- the carrier scanned them, its latest status by event time, and beside them the ERP's
-- commit and receipt dates. On time is delivered on or before the commit date, by the
-- carrier's scan; the ERP's receipt date gives the same answer wherever the ERP booked the
-- receipt on the day of delivery, and rpt_carrier_on_time_delivery counts where it did not.
with events as (

    select * from {{ ref('fct_shipment_events') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

shipments as (

    select
        tracking_number,
        order_id,
        line_number,
        cast(count(*) as integer) as event_count,
        cast(sum(case when event_type = 'exception' then 1 else 0 end) as integer) as exception_count,
        min(case when event_type = 'picked_up' then event_at end) as picked_up_at,
        min(case when event_type = 'delivered' then event_at end) as delivered_at
    from events
    group by tracking_number, order_id, line_number

),

latest_events as (

    select
        events.tracking_number,
        events.event_type
    from events
    inner join shipments
        on
            events.tracking_number = shipments.tracking_number
            and events.event_sequence = shipments.event_count

),

final as (

    select
        shipments.tracking_number,
        shipments.order_id,
        shipments.line_number,
        order_lines.supplier_id,
        latest_events.event_type as current_status,
        shipments.picked_up_at,
        shipments.delivered_at,
        shipments.event_count,
        shipments.exception_count,
        order_lines.commit_date,
        order_lines.receipt_date as erp_receipt_date,
        cast(shipments.delivered_at as date) as delivered_date,
        cast(order_lines.receipt_date - cast(shipments.delivered_at as date) as integer)
            as days_receipt_booked_after_delivery,
        order_lines.order_id is not null as is_in_erp,
        case
            when shipments.delivered_at is not null and order_lines.order_id is not null
                then cast(shipments.delivered_at as date) <= order_lines.commit_date
        end as is_delivered_on_time,
        case
            when shipments.delivered_at is not null and order_lines.order_id is not null
                then order_lines.receipt_date <= order_lines.commit_date
        end as is_received_on_time_per_erp
    from shipments
    inner join latest_events
        on shipments.tracking_number = latest_events.tracking_number
    left join order_lines
        on
            shipments.order_id = order_lines.order_id
            and shipments.line_number = order_lines.line_number

)

select * from final
