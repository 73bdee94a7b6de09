{#
    The current version of every key in an append-only raw table.

    Raw keeps every version the ERP ever sent; the newest is the last in effect order
    (macros/scd_history.sql, decision 0022): the latest business date, then the latest
    batch that day, then the last row of that file, except that a key's first insert
    always comes first, so an insert delivered after an update of its key never
    overwrites the update. The SCD2 history follows the same order, so the current
    version here and there is the same one.

    When the newest version is a delete, the key no longer exists: by default no row is
    returned for it. With keep_deletes, the tombstone is returned (key and lineage only,
    is_deleted true), so an incremental model can remove the key.

    With only_changed_keys, inside an incremental model, only the keys with a version in a
    batch that {{ this }} has not seen yet are ranked (see versions_of_changed_keys).

    The result has the relation's columns, _effective_date, version_rank (always 1) and is_deleted.
#}
{% macro latest_versions(relation, key_columns, keep_deletes=false, only_changed_keys=false) -%}
    {%- if only_changed_keys and is_incremental() -%}
        {#- An incremental run: few keys, so one ranking of all their versions. -#}
        {%- set ranked_versions -%}
            select
                dated.*,
                {{ newest_first(key_columns, 'dated') }} as version_rank
            from ({{ with_effective_date(versions_of_changed_keys(relation, key_columns), key_columns) }}) as dated
        {%- endset -%}
    {%- else -%}
        {#- A full build. `target is defined`: sqlfluff renders models without dbt's target. -#}
        {%- if target is defined and target.type == 'postgres' -%}
            {%- set ranked_versions = rank_every_version_in_one_sort(relation, key_columns) -%}
        {%- else -%}
            {%- set ranked_versions = rank_only_repeated_keys(relation, key_columns) -%}
        {%- endif -%}
    {%- endif -%}
    select
        ranked.*,
        ranked._op = 'delete' as is_deleted
    from ({{ ranked_versions }}) as ranked
    where ranked.version_rank = 1{{ "" if keep_deletes else " and ranked._op <> 'delete'" }}
{%- endmacro %}


{#
    A full build's ranking on DuckDB, where nothing says which keys changed: every version
    of every key, each with its rank (1 for the newest). Most keys have one version, which
    needs no ranking. Sorting only the keys seen more than once (a hash over the key
    columns finds them) costs a fraction of sorting every full-width row; at SF10, 60M
    order lines.
#}
{% macro rank_only_repeated_keys(relation, key_columns) -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set repeated_keys -%}
        select {{ keys }}
        from {{ relation }}
        group by {{ keys }}
        having count(*) > 1
    {%- endset -%}
    {%- set versions_of_repeated_keys -%}
        select versions.*
        from {{ relation }} as versions
        inner join ({{ repeated_keys }}) as repeated_keys
            on {{ keys_match(key_columns, 'versions', 'repeated_keys') }}
    {%- endset -%}
    select
        versions.*,
        cast(versions._business_date as date) as _effective_date,
        cast(1 as bigint) as version_rank
    from {{ relation }} as versions
    left join ({{ repeated_keys }}) as repeated_keys
        on {{ keys_match(key_columns, 'versions', 'repeated_keys') }}
    where repeated_keys.{{ key_columns[0] }} is null
    union all
    select
        dated.*,
        {{ newest_first(key_columns, 'dated') }} as version_rank
    from ({{ with_effective_date(versions_of_repeated_keys, key_columns) }}) as dated
{%- endmacro %}


{#-
    The same on PostgreSQL: one sort of every version. Its planner computes the repeated
    keys of rank_only_repeated_keys once per branch and, with the default work_mem, spills
    both to disk: on the SF1 order lines that query took 21 s, this one 10 s (the window
    stops at rank 1 per key). Decision 0015.
-#}
{% macro rank_every_version_in_one_sort(relation, key_columns) -%}
    select
        dated.*,
        {{ newest_first(key_columns, 'dated') }} as version_rank
    from ({{ with_effective_date('select * from ' ~ relation, key_columns) }}) as dated
{%- endmacro %}


{#- Raw versions (a query over a raw table) with the date each takes effect in its key's history. -#}
{% macro with_effective_date(versions_sql, key_columns) -%}
    select
        versions.*,
        {{ effective_date(key_columns, 'versions', '_op', '_business_date') }} as _effective_date
    from ({{ versions_sql }}) as versions
{%- endmacro %}


{#- 1 for the newest version of each key in effect order: effective date, then batch, then file row. -#}
{% macro newest_first(key_columns, alias) -%}
    row_number() over (
        partition by {% for key in key_columns %}{{ alias }}.{{ key }}{{ ", " if not loop.last }}{% endfor %}
        order by {{ alias }}._effective_date desc, {{ alias }}._batch_id desc, {{ alias }}._source_row desc
    )
{%- endmacro %}


{#- Equality of every key column between two aliases, for a join condition. -#}
{% macro keys_match(key_columns, left, right) -%}
    {%- for key in key_columns -%}
        {{ " and " if not loop.first }}{{ left }}.{{ key }} = {{ right }}.{{ key }}
    {%- endfor -%}
{%- endmacro %}


{#
    Every raw version of each key that has a version in a batch not yet in {{ this }}.

    Ranking all versions of those keys (not only the new rows) keeps the result exact when
    a batch arrives out of business-date order. "Not yet in {{ this }}" is read from the
    batch ids the table holds, not from a load timestamp, so a clock that steps back cannot
    hide a batch. A batch all of whose keys were later superseded is no longer in the table
    and is ranked again on every run: wasted work, never a wrong row.

    The new batch ids are read with a query before the model's SQL runs and reach that SQL
    as a list of literals (decision 0020). PostgreSQL estimates from its statistics how few
    raw rows they hold; with the `not in (subquery)` it assumed half of raw, sized the
    join's hash table for 600,000 keys, and spilled both sides to disk.
#}
{% macro versions_of_changed_keys(relation, key_columns) -%}
    select all_versions.*
    from {{ relation }} as all_versions
    inner join (
        select distinct {{ key_columns | join(', ') }}
        from {{ relation }}
        where {{ batch_id_in(batches_not_yet_in_this(relation)) }}
    ) as changed_keys
        on {{ keys_match(key_columns, 'all_versions', 'changed_keys') }}
{%- endmacro %}


{#- The batch ids in the raw `relation` that no row of {{ this }} comes from, sorted. -#}
{% macro batches_not_yet_in_this(relation) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set new_batches = run_query(
        'select distinct _batch_id from ' ~ relation
        ~ ' where _batch_id not in (select distinct seen.source_batch_id from ' ~ this ~ ' as seen)'
        ~ ' order by _batch_id'
    ) -%}
    {{ return(new_batches.columns[0].values() | list) }}
{%- endmacro %}


{#- A filter on the raw lineage column _batch_id: one of these ids; false for none. -#}
{% macro batch_id_in(batch_ids) -%}
    {%- set literals = [] -%}
    {%- for batch_id in batch_ids -%}
        {%- do literals.append("'" ~ batch_id | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {{ return('_batch_id in (' ~ literals | join(', ') ~ ')' if literals else 'false') }}
{%- endmacro %}


{#- The loader's lineage columns, as every staging model exposes them. -#}
{% macro source_version_columns() -%}
    _batch_id as source_batch_id,
    _business_date as source_business_date,
    _loaded_at as loaded_at
{%- endmacro %}
