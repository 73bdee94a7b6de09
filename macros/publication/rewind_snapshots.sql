{#
    Part of `elt replay --from-date`: forget what the snapshots learned from the batches of
    that business date and later, so reloading those batches (corrected, or backfilled in
    between) writes their history again, in business-date order. Versions that took effect
    on or after the date are deleted; versions they had closed are open again. Running it
    twice changes nothing more, so an interrupted replay can simply be run again.
#}
{% macro rewind_snapshots(from_date) %}
    {% set valid_to_current = "cast('9999-12-31' as timestamp)" %}
    {% set from_timestamp = "cast('" ~ modules.datetime.date.fromisoformat(from_date) ~ "' as timestamp)" %}
    {% for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'snapshot') | sort(attribute='name') %}
        {% set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias or node.name
        ) %}
        {% if relation is not none %}
            {% do run_write('delete from ' ~ relation ~ ' where dbt_valid_from >= ' ~ from_timestamp) %}
            {% do run_write(
                'update ' ~ relation ~ ' set dbt_valid_to = ' ~ valid_to_current
                ~ ' where dbt_valid_to >= ' ~ from_timestamp ~ ' and dbt_valid_to < ' ~ valid_to_current
            ) %}
        {% endif %}
    {% endfor %}
    {% do adapter.commit() %}
    {{ log('Snapshots rewound to before ' ~ from_date ~ '.', info=true) }}
{% endmacro %}
