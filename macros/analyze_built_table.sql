{#
    A post-hook of every model and snapshot (dbt_project.yml): on PostgreSQL, gather the
    statistics of the table just built before anything reads it.

    A table that `create table as` has just filled has no statistics until autovacuum gets
    to it, and PostgreSQL plans the next query on guesses. At SF1 the grain test of
    int_order_lines__deleted, read right after the order staging tables were rebuilt, was
    planned with its `order_id in (select ...)` as a subplan run once per line, and ran for
    minutes; once autovacuum had analyzed the tables, it was a hashed subplan. ANALYZE reads
    a sample (30,000 rows), about 0.3 s on the 6M order lines. Views have nothing to
    analyze; DuckDB keeps its statistics as it writes.
#}
{% macro analyze_built_table() -%}
    {%- if target.type == 'postgres' and config.get('materialized') in ('table', 'incremental', 'snapshot') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
