{#
    Fails with one row per combination of the given columns that occurs more than once.
    Argument names follow dbt_utils so a project can switch packages without edits.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with occurrences as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrence_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

)

select *
from occurrences
where occurrence_count > 1

{% endtest %}
