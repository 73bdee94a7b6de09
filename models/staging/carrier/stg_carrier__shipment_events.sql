-- The carrier re-sends some events, in a later file or twice in one (the loader quarantines
-- the second copy of a file's row); a re-sent event keeps its id and its content, so of its
-- copies the first delivered is kept, and when it arrived is measured from that one.
with events as (

    select * from {{ source('carrier', 'carrier_shipment_events') }}

),

first_delivered as (

    select
        *,
        row_number() over (
            partition by event_id
            order by _business_date, _batch_id, _source_row
        ) as delivery_rank
    from events

),

renamed as (

    select
        event_id,
        tracking_number,
        order_key as order_id,
        line_number,
        event_type,
        event_at,
        cast(event_at as date) as event_date,
        location as location_name,
        exception_code,
        _business_date as arrived_on,
        {{ source_version_columns() }}
    from first_delivered
    where delivery_rank = 1

)

select * from renamed
