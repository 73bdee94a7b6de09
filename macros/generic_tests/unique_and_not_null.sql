{#
    A key in one test: fails with one row per value of column_name (or per combination of
    combination_of_columns) that occurs more than once or is null in any of its columns.
    It stands for a `unique` (or unique_combination_of_columns) test and a not_null test on
    each key column, in one node and one read of the table: dbt spends about 40 ms on each
    test node whatever it reads, and on PostgreSQL each not_null scans the table again
    (decision 0017).
#}
{% test unique_and_not_null(model, column_name=none, combination_of_columns=none) %}

    {%- set key_columns = combination_of_columns if combination_of_columns else [column_name] -%}
    {%- if key_columns[0] is none -%}
        {%- do exceptions.raise_compiler_error(
            "unique_and_not_null on " ~ model ~ " names no key: declare it on a column, or give"
            ~ " combination_of_columns when it is declared on the model."
        ) -%}
    {%- endif %}

select
    {{ key_columns | join(',\n    ') }},
    count(*) as occurrence_count
from {{ model }}
group by {{ key_columns | join(', ') }}
having
    count(*) > 1
    {%- for column in key_columns %}
        or {{ column }} is null
    {%- endfor %}

{% endtest %}
