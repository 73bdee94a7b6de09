{#
    Fails when the newest value of `field` is older than `interval` `datepart`s before
    `as_of` (default: now). A warehouse of business dates passes its own latest business
    date as `as_of`, so the test means "the data keeps up with the feed".
    Argument names follow dbt_utils.recency, plus as_of.
#}
{% test recency(model, field, datepart, interval, as_of=none) %}

{%- set reference = as_of if as_of else 'current_timestamp' -%}

with newest as (

    select max({{ field }}) as newest_value
    from {{ model }}

)

select *
from newest
where newest_value is null
    or cast(newest_value as timestamp)
    < cast({{ reference }} as timestamp) - interval '{{ interval }} {{ datepart }}'


{% endtest %}
