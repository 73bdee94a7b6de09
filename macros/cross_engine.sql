{#
    The few places where DuckDB, PostgreSQL and Spark spell the same thing differently, as
    dispatched macros, so that no model branches on target.type (decision 0036).

    Each keeps the DuckDB and PostgreSQL SQL the models had before Spark, so those engines
    build exactly what they built. sqlfluff renders models without dbt's adapter: it lints
    the default form.
#}

{#- Unbounded text: varchar on DuckDB and PostgreSQL (as the contracts say); Spark's
    parser refuses a varchar without a length, and its text type is string. -#}
{% macro string_type() -%}
    {{- adapter.dispatch('string_type')() if adapter is defined else default__string_type() -}}
{%- endmacro %}

{% macro default__string_type() -%}
    varchar
{%- endmacro %}

{% macro spark__string_type() -%}
    string
{%- endmacro %}


{#- ISO day of the week, 1 (Monday) to 7 (Sunday): isodow on DuckDB and PostgreSQL, dow_iso on Spark. -#}
{% macro iso_day_of_week(date_expression) -%}
    {{- adapter.dispatch('iso_day_of_week')(date_expression) if adapter is defined
        else default__iso_day_of_week(date_expression) -}}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    extract(isodow from {{ date_expression }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    extract(dow_iso from {{ date_expression }})
{%- endmacro %}


{#- One row per calendar day from `first_date` to `last_date` (columns of `relation`, one row),
    in a column named calendar_day of type date. -#}
{% macro calendar_days(relation, first_date, last_date) -%}
    {{- adapter.dispatch('calendar_days')(relation, first_date, last_date) if adapter is defined
        else default__calendar_days(relation, first_date, last_date) -}}
{%- endmacro %}

{% macro default__calendar_days(relation, first_date, last_date) -%}
    select cast(spine_days.calendar_day as date) as calendar_day
    from {{ relation }}
    cross join generate_series(
        cast({{ first_date }} as timestamp), cast({{ last_date }} as timestamp), interval '1 day'
    ) as spine_days (calendar_day)
{%- endmacro %}

{% macro spark__calendar_days(relation, first_date, last_date) -%}
    select spine_days.calendar_day
    from {{ relation }}
    lateral view explode(
        sequence(cast({{ first_date }} as date), cast({{ last_date }} as date), interval 1 day)
    ) spine_days as calendar_day
{%- endmacro %}
