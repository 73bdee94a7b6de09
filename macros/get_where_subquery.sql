{#
    The relation a data test reads, filtered by the test's `where` config: dbt's own rule,
    plus one word of ours.

    `where: "__rows_of_latest_build__"` stands for the rows that the latest build of the
    tested model wrote: `built_at = (select max(built_at) from <model>)`. The large
    incremental models (order and order-line staging, fct_order_lines, fct_orders) stamp
    each row they write with the build's start time (macro build_started_at), so:
    - after a first build or a --full-refresh, every row carries the newest stamp and the
      test reads the whole table;
    - after an incremental run, the test reads the rows that run inserted, and not the
      millions the earlier builds wrote and tested already.
    A delete+insert run replaces every row of a key it writes, so a key the run touched is
    wholly inside the scope, which keeps grain tests exact. Decision 0013 says why.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set latest_build = "built_at = (select max(built_at) from " ~ relation ~ ")" -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where | replace("__rows_of_latest_build__", latest_build) }}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#-
    When this dbt invocation started, as a timestamp: the stamp (built_at) of every row a
    build writes. run_started_at is in UTC, written with its +00:00 offset, which both
    engines' timestamp casts accept.
-#}
{% macro build_started_at() -%}
    cast('{{ run_started_at }}' as timestamp)
{%- endmacro %}


{#-
    The indexes config of a large incremental model: on PostgreSQL, a btree on built_at,
    so the tests' "rows of the latest build" is an index range, not two scans of the
    table; DuckDB's zone maps already skip the older row groups, so it gets none.
-#}
{% macro latest_build_indexes() -%}
    {#- `target is defined`: sqlfluff renders this macro without dbt's target. -#}
    {{ return([{'columns': ['built_at']}] if target is defined and target.type == 'postgres' else []) }}
{%- endmacro %}
