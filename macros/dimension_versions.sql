{#
    The versions of an SCD type-2 dimension, from its snapshot, as half-open date ranges:
    a version is valid from valid_from up to, not including, valid_to, so on the day a
    record changes exactly one version matches. The current version runs to 9999-12-31.

    Tombstone versions (the record was deleted) are dropped: they only close the version
    before them, on the business date of the delete. The first version of each key is made
    valid from 1900-01-01: the warehouse first sees a record when it is exported or created,
    and that version stands for its whole past, so older orders still find their customer.
#}
{% macro dimension_versions(snapshot_relation, key_columns) -%}
    select
        snapshot.*,
        case
            when row_number() over (
                partition by {{ key_columns | join(', ') }} order by snapshot.dbt_valid_from
            ) = 1
                then cast('1900-01-01' as date)
            else cast(snapshot.dbt_valid_from as date)
        end as valid_from,
        cast(snapshot.dbt_valid_to as date) as valid_to,
        snapshot.dbt_valid_to = cast('9999-12-31' as timestamp) as is_current
    from {{ snapshot_relation }} as snapshot
    where not snapshot.is_deleted
{%- endmacro %}
