{#
    The warehouse's one way to make a surrogate key: md5 over the given columns, each cast
    to text with nulls spelled out, joined with a separator that cannot occur in the data.
    md5 and the casts behave the same on DuckDB and PostgreSQL, so keys match across engines.
#}
{% macro surrogate_key(columns) -%}
    md5(
        {%- for column in columns %}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '_null_')
        {%- if not loop.last %} || '|' || {% endif -%}
        {%- endfor %}
    )
{%- endmacro %}
