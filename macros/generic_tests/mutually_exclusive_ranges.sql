{#
    SCD validity ranges: per key (partition_by), each [lower, upper) range must end where
    the next begins. Fails with every row whose range is empty or reversed, overlaps the
    next one, or (gaps = 'not_allowed') leaves a gap before it. A null upper bound means
    "still valid" and is only allowed on the last range of a key.
    Argument names follow dbt_utils.mutually_exclusive_ranges.
#}
{% test mutually_exclusive_ranges(
    model, lower_bound_column, upper_bound_column, partition_by=none, gaps='allowed'
) %}

{%- set range_key = partition_by if partition_by else 'cast(null as integer)' -%}
{%- set partition_clause = 'partition by ' ~ partition_by if partition_by else '' -%}
{%- set gap_is_violation = 'true' if gaps == 'not_allowed' else 'false' -%}

with ordered as (

    select
        {{ range_key }} as range_key,
        {{ lower_bound_column }} as lower_bound,
        {{ upper_bound_column }} as upper_bound,
        lead({{ lower_bound_column }}) over (
            {{ partition_clause }} order by {{ lower_bound_column }}
        ) as next_lower_bound
    from {{ model }}

),

checked as (

    select
        *,
        case
            when upper_bound is not null and upper_bound <= lower_bound
                then 'empty or reversed range'
            when next_lower_bound is not null and upper_bound is null
                then 'open range before another range'
            when next_lower_bound < upper_bound
                then 'overlaps the next range'
            when {{ gap_is_violation }} and next_lower_bound > upper_bound
                then 'gap before the next range'
        end as violation
    from ordered

)

select *
from checked
where violation is not null

{% endtest %}
