{#
    The current version of every key in an append-only raw table.

    Raw keeps every version the ERP ever sent; the newest is the one from the latest
    business date, then the latest batch that day, then the last row of that file (an
    extract may repeat a key, and its last mention wins).

    When the newest version is a delete, the key no longer exists: by default no row is
    returned for it. With keep_deletes, the tombstone is returned (key and lineage only,
    is_deleted true), so a snapshot can close the key's history on the business date of
    the delete.
#}
{% macro latest_versions(relation, key_columns, keep_deletes=false) -%}
    select
        ranked.*,
        ranked._op = 'delete' as is_deleted
    from (
        select
            versions.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _business_date desc, _batch_id desc, _source_row desc
            ) as version_rank
        from {{ relation }} as versions
    ) as ranked
    where ranked.version_rank = 1{{ "" if keep_deletes else " and ranked._op <> 'delete'" }}
{%- endmacro %}


{#- The loader's lineage columns, as every staging model exposes them. -#}
{% macro source_version_columns() -%}
    _batch_id as source_batch_id,
    _business_date as source_business_date,
    _loaded_at as loaded_at
{%- endmacro %}
