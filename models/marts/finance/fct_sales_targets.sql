-- Finance's targets in the ERP's terms: its region names, and the segment codes and names of
-- the seed market_segments (finance labels a segment by its display name), so the report of
-- actual against target joins them to revenue on the same labels.
with targets as (

    select * from {{ ref('stg_finance__sales_targets') }}

),

segments as (

    select * from {{ ref('market_segments') }}

),

final as (

    select
        targets.target_month,
        targets.region_name,
        segments.market_segment,
        segments.segment_name as market_segment_name,
        targets.revenue_target
    from targets
    inner join segments
        on targets.market_segment_label = upper(segments.segment_name)

)

select * from final
