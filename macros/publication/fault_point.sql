{#
    A named fault point inside a dbt operation, for the fault-injection tests: when
    ELT_KILL_AT or ELT_PAUSE_AT names this point, dbt logs it and `elt`'s event callback
    (scripts/elt/dbt.py) kills or pauses the process right there, mid-transaction.
    Unset, as always outside tests, it emits nothing.
#}
{% macro fault_point(name) %}
    {% if name in (env_var('ELT_KILL_AT', ''), env_var('ELT_PAUSE_AT', '')) %}
        {% do log('elt fault point: ' ~ name, info=false) %}
    {% endif %}
{% endmacro %}
