{#
    The one masking rule for personal data (columns whose YAML config sets
    meta: {contains_pii: true}). Published marts show it in place of the value, so a
    consumer can still count rows and see that a value exists, but never read it.
#}
{% macro mask_pii(column_name) -%}
    case when {{ column_name }} is null then null else '***' end
{%- endmacro %}
