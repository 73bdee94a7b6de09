-- Finance's labels are the key once trimmed and upper-cased ("  Asia " is ASIA, the ERP's
-- region name; "Building" is BUILDING, a segment's display name), so a cell re-sent with its
-- label cleaned up is the same cell: of its versions the newest delivered wins, as
-- latest_versions decides for each label as written.
with latest as (

    {{ latest_versions(source('finance', 'finance_sales_targets'), ['target_month', 'region', 'segment']) }}

),

labelled as (

    select
        _business_date,
        _batch_id,
        _source_row,
        _loaded_at,
        cast(target_month as date) as target_month,
        cast(revenue_target as decimal(15, 2)) as revenue_target,
        upper(trim(region)) as region_name,
        upper(trim(segment)) as market_segment_label
    from latest

),

newest_per_label as (

    select
        *,
        row_number() over (
            partition by target_month, region_name, market_segment_label
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as label_rank
    from labelled

),

renamed as (

    select
        target_month,
        region_name,
        market_segment_label,
        revenue_target,
        {{ source_version_columns() }}
    from newest_per_label
    where label_rank = 1

)

select * from renamed
