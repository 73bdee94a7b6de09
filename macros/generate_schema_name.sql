{#
    Schemas are named by layer (staging, marts, ...) and are identical on every target, so
    DuckDB and PostgreSQL hold the same relation names and docs link to one place.
    dbt's default would prefix the target schema (main_staging, public_staging).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
