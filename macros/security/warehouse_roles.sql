{#
    PostgreSQL roles of the production warehouse (docs/security.md):

      loader       writes raw and audit (the loader's ledger, quarantine, run history); reads nothing else
      transformer  reads raw, writes staging, intermediate, snapshots, reference, marts_build,
                   the version schemas marts_v<N> and the consumer schema marts, and the publish log
      reporter     reads the views in marts, with personal data masked; nothing else
      reporter_pii a reporter that may also read personal data: the views in marts_pii,
                   unmasked (docs/security.md lists the masked columns)

    They are group roles without login: people and services log in as their own users and
    are granted one of them, and `elt` switches to it (SET ROLE) so every object is owned by
    the group, not by whoever ran the job. create_warehouse_roles runs once, as an
    administrator: `elt setup-roles --target <target>`. The reporter's grants on published
    views are re-applied by publish_marts and rollback_marts, in the same transaction.
#}

{% macro warehouse_role(name) %}
    {{ return(var('warehouse_roles', {}).get(name, name)) }}
{% endmacro %}


{% macro role_exists(name) %}
    {% set found = run_query("select count(*) from pg_roles where rolname = '" ~ name ~ "'") %}
    {{ return(found.rows[0][0] > 0) }}
{% endmacro %}


{% macro create_warehouse_roles() %}
    {{ return(adapter.dispatch('create_warehouse_roles')()) }}
{% endmacro %}


{% macro default__create_warehouse_roles() %}
    {% do exceptions.raise_compiler_error(
        'warehouse roles exist only on PostgreSQL; target ' ~ target.name ~ ' is ' ~ target.type
        ~ ' (an embedded DuckDB file is protected by file permissions).'
    ) %}
{% endmacro %}


{% macro postgres__create_warehouse_roles() %}
    {% set loader = warehouse_role('loader') %}
    {% set transformer = warehouse_role('transformer') %}
    {% set reporter = warehouse_role('reporter') %}
    {% set reporter_pii = warehouse_role('reporter_pii') %}
    {% set database = adapter.quote(target.database) %}
    {% set transformer_schemas = [
        'staging', 'intermediate', 'snapshots', 'reference', 'marts_build', 'marts', 'marts_pii'
    ] %}
    {% for role in [loader, transformer, reporter, reporter_pii] %}
        {% if not role_exists(role) %}
            {% do run_write('create role ' ~ role ~ ' nologin') %}
        {% endif %}
    {% endfor %}
    {#- Only the two writers may create schemas: the transformer creates marts_v<N> as it publishes. -#}
    {% do run_write('revoke create on database ' ~ database ~ ' from public') %}
    {% do run_write(
        'grant connect on database ' ~ database ~ ' to ' ~ [loader, transformer, reporter, reporter_pii] | join(', ')
    ) %}
    {% do run_write('grant create on database ' ~ database ~ ' to ' ~ loader ~ ', ' ~ transformer) %}
    {% for schema in ['raw', 'audit'] %}
        {% do run_write('create schema if not exists ' ~ schema ~ ' authorization ' ~ loader) %}
        {% do run_write('alter schema ' ~ schema ~ ' owner to ' ~ loader) %}
    {% endfor %}
    {% for schema in transformer_schemas %}
        {% do run_write('create schema if not exists ' ~ schema ~ ' authorization ' ~ transformer) %}
        {% do run_write('alter schema ' ~ schema ~ ' owner to ' ~ transformer) %}
    {% endfor %}
    {#- The transformer reads raw, present and future tables, and keeps its publish log in audit. -#}
    {% do run_write('grant usage on schema raw to ' ~ transformer) %}
    {% do run_write('grant select on all tables in schema raw to ' ~ transformer) %}
    {% do run_write(
        'alter default privileges for role ' ~ loader ~ ' in schema raw grant select on tables to ' ~ transformer
    ) %}
    {% do run_write('grant usage, create on schema audit to ' ~ transformer) %}
    {#- `elt status` and `elt run` read the publish log over the loader's connection. -#}
    {% do run_write(
        'alter default privileges for role ' ~ transformer ~ ' in schema audit grant select on tables to ' ~ loader
    ) %}
    {#- The reporter reaches the consumer schema only; publish_marts grants select on its views. -#}
    {% do run_write('grant usage on schema marts to ' ~ reporter) %}
    {#- reporter_pii is a reporter too, and reaches the unmasked views besides. -#}
    {% do run_write('grant ' ~ reporter ~ ' to ' ~ reporter_pii) %}
    {% do run_write('grant usage on schema marts_pii to ' ~ reporter_pii) %}
    {% do adapter.commit() %}
    {% set roles = [loader, transformer, reporter, reporter_pii] | join(', ') %}
    {{ log('Roles ' ~ roles ~ ' are set up on database ' ~ target.database
        ~ '. Grant them to login users: grant ' ~ loader ~ ' to <user>; and so on (docs/security.md).', info=true) }}
{% endmacro %}


{% macro grant_published_marts(schema_name) %}
    {{ return(adapter.dispatch('grant_published_marts')(schema_name)) }}
{% endmacro %}


{#- DuckDB has no roles: an embedded file is protected by file permissions. -#}
{% macro default__grant_published_marts(schema_name) %}
{% endmacro %}


{% macro postgres__grant_published_marts(schema_name) %}
    {% set reporter = warehouse_role('reporter') %}
    {% set reporter_pii = warehouse_role('reporter_pii') %}
    {% if role_exists(reporter) %}
        {% do run_write('grant usage on schema ' ~ consumer_schema() ~ ' to ' ~ reporter) %}
        {% do run_write('grant select on all tables in schema ' ~ consumer_schema() ~ ' to ' ~ reporter) %}
        {#- Only reporter_pii reads the unmasked views; nobody else is granted anything there. -#}
        {% do run_write('revoke all on schema ' ~ pii_consumer_schema() ~ ' from public') %}
        {% if role_exists(reporter_pii) %}
            {% do run_write('grant usage on schema ' ~ pii_consumer_schema() ~ ' to ' ~ reporter_pii) %}
            {% do run_write(
                'grant select on all tables in schema ' ~ pii_consumer_schema() ~ ' to ' ~ reporter_pii
            ) %}
        {% endif %}
        {#- The version schema is reached through the views (they run as their owner), never directly. -#}
        {% do run_write('revoke all on schema ' ~ schema_name ~ ' from public') %}
        {% if adapter.check_schema_exists(target.database, history_schema()) %}
            {% do run_write('revoke all on schema ' ~ history_schema() ~ ' from public') %}
        {% endif %}
    {% endif %}
{% endmacro %}
