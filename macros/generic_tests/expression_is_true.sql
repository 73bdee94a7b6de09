{#
    Fails with every row for which the SQL expression is not true (false or null), among
    the rows matching where_condition. Argument names follow dbt_utils.expression_is_true.
#}
{% test expression_is_true(model, expression, column_name=none, where_condition='1 = 1') %}

{%- set checked = (column_name ~ ' ' if column_name else '') ~ expression -%}

select *
from {{ model }}
where not coalesce(({{ checked }}), false)
    and ({{ where_condition }})

{% endtest %}
