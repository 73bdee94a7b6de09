-- One row per carrier event. Within its shipment an event is numbered by when it happened,
-- not by when it arrived: the carrier's files hold events in no particular order, and some
-- scans reach them days late.
with events as (

    select * from {{ ref('stg_carrier__shipment_events') }}

),

final as (

    select
        event_id,
        tracking_number,
        order_id,
        line_number,
        cast(
            row_number() over (partition by tracking_number order by event_at, event_id) as integer
        ) as event_sequence,
        event_type,
        event_at,
        event_date,
        location_name,
        exception_code,
        arrived_on,
        cast(arrived_on - event_date as integer) as days_arrived_late
    from events

)

select * from final
