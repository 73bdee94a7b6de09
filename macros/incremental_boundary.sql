{#-
    Where this incremental model's run starts: `expression`, an aggregate over the rows the
    model's table already holds (say `max(built_at)`), as a literal of `data_type`. None
    when the run is not incremental (a first build, a full refresh) or the table is empty:
    the run then takes everything.

    It is read with a query before the model's SQL runs, so the boundary reaches that SQL as
    a literal rather than as a subquery. PostgreSQL can then estimate how few rows pass it
    and filter each table where it is read; with a subquery it guessed a third of each
    table and joined every order line with its order first (decision 0019).
-#}
{% macro incremental_boundary(expression, data_type) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set boundary = run_query(
        'select cast(' ~ expression ~ ' as ' ~ string_type() ~ ') from ' ~ this
    ).columns[0].values()[0] -%}
    {{ return(none if boundary is none else "cast('" ~ boundary ~ "' as " ~ data_type ~ ")") }}
{%- endmacro %}
