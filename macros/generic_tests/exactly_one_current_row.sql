{#
    An SCD type-2 table has exactly one current version per key (a key whose record was
    deleted may have none, when allow_no_current_row is true). Fails with one row per key
    that breaks the rule, with its count of current rows.
#}
{% test exactly_one_current_row(
    model, key_columns, current_flag_column='is_current', allow_no_current_row=false
) %}

    {%- set fewest_allowed = 0 if allow_no_current_row else 1 -%}

with current_rows as (

    select
        {{ key_columns | join(',\n        ') }},
        sum(case when {{ current_flag_column }} then 1 else 0 end) as current_row_count
    from {{ model }}
    group by {{ key_columns | join(', ') }}

)

select *
from current_rows
where current_row_count > 1 or current_row_count < {{ fewest_allowed }}

{% endtest %}
