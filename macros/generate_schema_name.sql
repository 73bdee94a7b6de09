{#
    Schemas are named by layer (staging, marts, ...) and are identical on every target, so
    DuckDB and PostgreSQL hold the same relation names and docs link to one place.
    dbt's default would prefix the target schema (main_staging, public_staging).

    Slim CI sets the var schema_prefix (ci_) so what it builds lands beside production's
    schemas (ci_marts next to marts) and never replaces them. dbt compares the configured
    schema, not this macro's output, when it looks for modified models, so the prefix does
    not make every model look changed.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ var('schema_prefix', '') }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
