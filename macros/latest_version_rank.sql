{#
    Ranks the versions of each key in an append-only raw table, newest first.

    Raw keeps every version the ERP ever sent; the newest is the one from the latest
    business date, then the latest batch that day, then the last row of that file (an
    extract may repeat a key, and its last mention wins). Rank 1 is the current version;
    when that version is a delete the key no longer exists.
#}
{% macro latest_version_rank(key_columns) -%}
    row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by _business_date desc, _batch_id desc, _source_row desc
    )
{%- endmacro %}
