-- Every version of every customer account, derived from all the ERP's deliveries (macro
-- scd2_versions): valid from valid_from up to, not including, valid_to. A table, so the
-- dimension, the facts' point-in-time joins and the history tests read it once.
{{ config(materialized='table') }}

with versions as (

    {{ scd2_versions(ref('stg_erp__customers'), ['customer_id']) }}

),

final as (

    select
        customer_id,
        customer_name,
        customer_address,
        nation_id,
        customer_phone,
        account_balance,
        market_segment,
        customer_comment,
        valid_from,
        valid_to,
        source_batch_id,
        source_business_date,
        valid_to = cast('9999-12-31' as date) as is_current
    from versions
    where not is_deleted

)

select * from final
