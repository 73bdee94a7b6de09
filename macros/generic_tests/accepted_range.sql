{#
    Fails with every row whose column lies outside [min_value, max_value] (or the open
    interval when inclusive is false). Nulls pass; test them with not_null.
    Argument names follow dbt_utils.accepted_range.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

    {%- set bounds = [] -%}
    {%- if min_value is not none -%}
        {%- do bounds.append(column_name ~ (' >= ' if inclusive else ' > ') ~ min_value) -%}
    {%- endif -%}
    {%- if max_value is not none -%}
        {%- do bounds.append(column_name ~ (' <= ' if inclusive else ' < ') ~ max_value) -%}
    {%- endif -%}

select *
from {{ model }}
where {{ column_name }} is not null
    and not ({{ bounds | join(' and ') if bounds else 'true' }})

{% endtest %}
