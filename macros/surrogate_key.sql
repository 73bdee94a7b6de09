{#
    The warehouse's one way to make a surrogate key: md5 over the given columns, each cast
    to text with nulls spelled out, joined with a separator that cannot occur in the data.
    md5 and the casts behave the same on DuckDB and PostgreSQL, so keys match across engines.
#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as varchar), '_null_')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || '|' || ") }})
{%- endmacro %}


{#- The key of every dimension's unknown member: facts whose dimension row is missing point here. -#}
{% macro unknown_member_key() -%}
    '00000000000000000000000000000000'
{%- endmacro %}
