-- Every delivery of a historied record is applied as it came: no insert after its key's
-- updates, no delete of an unknown key, no two versions of a key on one business date.
-- A warning, not a failure: the history rule (decision 0022) handles each, and the rows
-- of int_deliveries__out_of_order say which rule applied where.
{{ config(severity='warn', group='commercial_analytics') }}

select
    entity,
    record_key,
    source_batch_id,
    source_row,
    rule_applied
from {{ ref('int_deliveries__out_of_order') }}
