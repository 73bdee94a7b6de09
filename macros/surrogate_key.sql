{#
    The warehouse's one way to make a surrogate key: a 64-bit integer, the first 60 bits of
    the md5 of the given columns (each cast to text with nulls spelled out, joined with a
    separator that cannot occur in the data). md5 and the casts behave the same on DuckDB,
    PostgreSQL and Spark, so a key is the same number on all three; 60 bits keep it positive
    in a bigint.

    An integer, not the 32-character hex text it was: facts join their dimensions on it, and
    an integer join is the cheaper one on both engines (docs/decisions/0033 has the timings).
    Two versions in a billion-row dimension share a key with a chance of about one in 2,300;
    each key column's `unique` test would fail the build if it ever happened.
#}
{% macro surrogate_key(columns) -%}
    {#- sqlfluff renders models without dbt's adapter: it lints the DuckDB form. -#}
    {%- if adapter is defined -%}
        {{ adapter.dispatch('surrogate_key')(columns) }}
    {%- else -%}
        {{ default__surrogate_key(columns) }}
    {%- endif -%}
{%- endmacro %}


{% macro surrogate_key_text(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ string_type() ~ "), '_null_')") -%}
    {%- endfor -%}
    {{ parts | join(" || '|' || ") }}
{%- endmacro %}


{#- DuckDB reads a '0x'-prefixed hex string as an integer. -#}
{% macro default__surrogate_key(columns) -%}
    cast('0x' || substr(md5({{ surrogate_key_text(columns) }}), 1, 15) as bigint)
{%- endmacro %}


{#- PostgreSQL reads 'x'-prefixed hex as a bit string, and a bit string as an integer. -#}
{% macro postgres__surrogate_key(columns) -%}
    cast(cast('x' || substr(md5({{ surrogate_key_text(columns) }}), 1, 15) as bit(60)) as bigint)
{%- endmacro %}


{#- Spark reads neither prefix; conv() turns the hex digits into decimal text, which it casts. -#}
{% macro spark__surrogate_key(columns) -%}
    cast(conv(substr(md5({{ surrogate_key_text(columns) }}), 1, 15), 16, 10) as bigint)
{%- endmacro %}


{#- The key of every dimension's unknown member: facts whose dimension row is missing point here.
    Negative, so no key made by surrogate_key can be it. -#}
{% macro unknown_member_key() -%}
    cast(-1 as bigint)
{%- endmacro %}
