{#
    Fails when the model and compare_model hold different numbers of rows.
    Argument names follow dbt_utils.equal_rowcount.
#}
{% test equal_rowcount(model, compare_model) %}

with counts as (

    select
        (select count(*) from {{ model }}) as model_row_count,
        (select count(*) from {{ compare_model }}) as compare_model_row_count

)

select *
from counts
where model_row_count <> compare_model_row_count

{% endtest %}
