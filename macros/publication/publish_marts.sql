{#
    Write-audit-publish (docs/decisions/0011-write-audit-publish.md).

    dbt builds and tests the marts in the schema marts_build, which consumers never read.
    publish_marts puts every mart into a new version schema marts_v<N> (a copy, or for the
    large incremental marts a view of their row versions: published_history.sql) and
    re-points the views in the consumer schemas `marts` and `marts_pii` to it, all in one
    transaction, so a reader sees either the old version or the new one, never a mix.
    Personal data is masked in `marts` (mask_pii) and shown in `marts_pii`; on PostgreSQL
    the reporter role gets select on `marts` and nothing else, reporter_pii on both.
    rollback_marts re-points the views to an earlier version still kept.

    It publishes only what was audited (docs/decisions/0023): every mart's tests must have
    passed on the very builds marts_build holds, as the warehouse records them
    (audited_builds.sql), whoever ran dbt and however it ended. And builds already live are
    not published again: the version stays, nothing is retired.

    The published views name schemas, never the database: a DuckDB file restored under
    another name is another catalog (docs/runbooks/restore.md).

    audit.publish_log records every version: live (the one the views show), superseded,
    rolled_back (left by a rollback; never made live again automatically) and retired
    (its schema dropped once more than var('published_versions_kept') versions exist), with
    the builds it was published from (build_signature).
#}

{% macro published_models() %}
    {% set models = [] %}
    {% for node in graph.nodes.values() | sort(attribute='name') %}
        {% if node.resource_type == 'model' and node.fqn[1] == 'marts' %}
            {% do models.append(node) %}
        {% endif %}
    {% endfor %}
    {{ return(models) }}
{% endmacro %}


{% macro version_schema(version) %}
    {{ return(var('schema_prefix', '') ~ 'marts_v' ~ version) }}
{% endmacro %}


{% macro consumer_schema() %}
    {{ return(var('schema_prefix', '') ~ 'marts') }}
{% endmacro %}


{% macro ensure_publish_log() %}
    {% do run_write("create schema if not exists audit") %}
    {% do run_write(
        "create table if not exists audit.publish_log ("
        ~ " version integer not null primary key,"
        ~ " schema_name varchar(63) not null,"
        ~ " status varchar(16) not null,"
        ~ " published_at timestamp not null,"
        ~ " status_changed_at timestamp not null,"
        ~ " dbt_invocation_id varchar(64) not null,"
        ~ " note varchar(500))"
    ) %}
    {#- Added by decision 0023; a log written before it has none for its versions. -#}
    {% do run_write("alter table audit.publish_log add column if not exists build_signature varchar(8000)") %}
    {% do run_write("alter table audit.publish_log add column if not exists inputs_signature varchar(64)") %}
{% endmacro %}


{#- A refusal: one line, logged (so `elt` can show it alone) and raised. -#}
{% macro refuse_publication(message) %}
    {{ log(message, info=true) }}
    {% do exceptions.raise_compiler_error(message) %}
{% endmacro %}


{% macro publish_log_rows(where) %}
    {% set result = run_query(
        "select version, schema_name, status from audit.publish_log where " ~ where ~ " order by version desc"
    ) %}
    {{ return(result.rows) }}
{% endmacro %}


{% macro pii_consumer_schema() %}
    {{ return(var('schema_prefix', '') ~ 'marts_pii') }}
{% endmacro %}


{#
    The statements that point every consumer view at one version schema's tables: in
    `marts` with personal data masked, in `marts_pii` (for the roles that may read it) as it
    is. Both leave out the build's own bookkeeping columns (var build_internal_columns).
#}
{% macro repoint_consumer_views(models, schema_name) %}
    {% set statements = [] %}
    {% set internal = var('build_internal_columns', []) %}
    {% for consumer, masked in [(consumer_schema(), true), (pii_consumer_schema(), false)] %}
        {% do statements.append('create schema if not exists ' ~ consumer) %}
        {% for node in models %}
            {% set existing = adapter.get_relation(database=target.database, schema=consumer, identifier=node.name) %}
            {% if existing is not none and not existing.is_view %}
                {#- A table left by a warehouse built before write-audit-publish. -#}
                {% do statements.append('drop table ' ~ consumer ~ '.' ~ node.name) %}
            {% else %}
                {% do statements.append('drop view if exists ' ~ consumer ~ '.' ~ node.name) %}
            {% endif %}
            {% set source = api.Relation.create(database=target.database, schema=schema_name, identifier=node.name) %}
            {% set select_list = [] %}
            {% for column in adapter.get_columns_in_relation(source) if column.name not in internal %}
                {% set declared = node.columns.get(column.name, {}) %}
                {% set meta = declared.get('meta', {}) if declared else {} %}
                {% if masked and meta.get('contains_pii') %}
                    {% do select_list.append(mask_pii(adapter.quote(column.name)) ~ ' as ' ~ adapter.quote(column.name)) %}
                {% else %}
                    {% do select_list.append(adapter.quote(column.name)) %}
                {% endif %}
            {% endfor %}
            {% do statements.append(
                'create view ' ~ consumer ~ '.' ~ node.name ~ ' as select ' ~ select_list | join(', ')
                ~ ' from ' ~ schema_name ~ '.' ~ node.name
            ) %}
        {% endfor %}
    {% endfor %}
    {{ return(statements) }}
{% endmacro %}


{#
    After a rollback, publication is on hold: scheduled runs keep building and testing, but
    the views stay on the version the operator chose until someone publishes on purpose
    (`elt publish`, which passes release_hold=true). Otherwise the next run would quietly
    publish again what was just rolled back.

    `inputs` is what the build was made from (the loaded batches and the project's code, as
    `elt run` hashes them right before its build, under the warehouse lock): a build from
    the same inputs as the live version has the same rows, so it is no new version.
    Without it (a manual publish) only the builds themselves are compared.
#}
{% macro publish_marts(release_hold=false, inputs=none) %}
    {% set models = published_models() %}
    {% set build_schema = generate_schema_name('marts_build', models[0]) | trim %}
    {% do ensure_publish_log() %}
    {% set live = run_query(
        "select version, build_signature, inputs_signature from audit.publish_log where status = 'live'"
    ).rows %}
    {% set consumers_see = 'consumers still see version ' ~ live[0][0] if live else 'nothing is published yet' %}

    {% for node in models %}
        {% if adapter.get_relation(database=target.database, schema=build_schema, identifier=node.name) is none %}
            {% do refuse_publication(
                'cannot publish: ' ~ build_schema ~ '.' ~ node.name ~ ' does not exist; ' ~ consumers_see ~ '. '
                ~ 'Run `elt run` (or dbt build) to build and test the marts first.'
            ) %}
        {% endif %}
    {% endfor %}

    {% set failed, unaudited = unaudited_marts(models) %}
    {% if failed or unaudited %}
        {% set reasons = [] %}
        {% if failed %}
            {% do reasons.append(failed | join(', ') ~ ' failed their tests') %}
        {% endif %}
        {% if unaudited %}
            {% do reasons.append(unaudited | join(', ') ~ ' changed since their tests last passed'
                ~ ' (a `dbt run`, or a build stopped before its tests)') %}
        {% endif %}
        {% do refuse_publication(
            'cannot publish: in ' ~ build_schema ~ ', ' ~ reasons | join('; ') ~ '; ' ~ consumers_see ~ '. '
            ~ 'Fix the cause, build and test them (`elt run`, or `dbt build`), then `elt publish`.'
        ) %}
    {% endif %}

    {% set held = publish_log_rows(
        "status = 'rolled_back' and version > (select coalesce(max(version), 0) from audit.publish_log"
        ~ " where status = 'live')"
    ) %}
    {% if held and not release_hold %}
        {{ log('Not published: publication is on hold since version ' ~ held[0][0] ~ ' was rolled back; '
            ~ consumers_see ~ '. Check the build, then run `elt publish` to publish it.', info=true) }}
        {{ return(none) }}
    {% endif %}

    {% set signature = marts_build_signature(models) %}
    {% if live and live[0][1] == signature %}
        {{ log('Not published: ' ~ build_schema ~ ' holds the builds version ' ~ live[0][0] ~ ' was published from, '
            ~ 'so it stays live; nothing was copied or retired.', info=true) }}
        {{ return(none) }}
    {% endif %}
    {% if inputs and live and live[0][2] == inputs %}
        {{ log('Not published: the build comes from the same loaded batches and project code as version '
            ~ live[0][0] ~ ', so it stays live; nothing was copied or retired.', info=true) }}
        {{ return(none) }}
    {% endif %}

    {% set newest = run_query("select coalesce(max(version), 0) from audit.publish_log").rows[0][0] %}
    {% set version = newest | int + 1 %}
    {% set schema_name = version_schema(version) %}

    {% do begin_publication_transaction() %}
    {% do run_write('create schema ' ~ schema_name) %}
    {% for node in models %}
        {% if is_published_by_row_versions(node) %}
            {% set history_table = publish_row_versions(node, build_schema, version) %}
            {% do create_row_version_view(node, schema_name, history_table, version) %}
        {% else %}
            {% do run_write(
                'create table ' ~ schema_name ~ '.' ~ node.name ~ ' as select * from ' ~ build_schema ~ '.' ~ node.name
            ) %}
        {% endif %}
    {% endfor %}
    {{ fault_point('publish:after-copy') }}
    {% for statement in repoint_consumer_views(models, schema_name) %}
        {% do run_write(statement) %}
    {% endfor %}
    {% do grant_published_marts(schema_name) %}
    {% do run_write(
        "update audit.publish_log set status = 'superseded', status_changed_at = " ~ utc_now()
        ~ " where status = 'live'"
    ) %}
    {% do run_write(
        "insert into audit.publish_log (version, schema_name, status, published_at, status_changed_at,"
        ~ " dbt_invocation_id, build_signature, inputs_signature) values (" ~ version ~ ", '" ~ schema_name
        ~ "', 'live', " ~ utc_now() ~ ", " ~ utc_now() ~ ", '" ~ invocation_id ~ "', '" ~ signature ~ "', "
        ~ ("'" ~ inputs ~ "'" if inputs else "null") ~ ")"
    ) %}
    {{ fault_point('publish:before-commit') }}
    {% do adapter.commit() %}
    {{ log('Published version ' ~ version ~ ' (' ~ schema_name ~ '): ' ~ models | length ~ ' marts.', info=true) }}
    {% do retire_old_versions() %}
{% endmacro %}


{% macro retire_old_versions() %}
    {% set kept = var('published_versions_kept', 3) | int %}
    {% set versions = publish_log_rows("status <> 'retired'") %}
    {% set retired = [] %}
    {% for version, schema_name, status in versions[kept:] %}
        {% if status != 'live' %}
            {% do retired.append(version) %}
            {% do begin_publication_transaction() %}
            {% do run_write('drop schema if exists ' ~ schema_name ~ ' cascade') %}
            {% do run_write(
                "update audit.publish_log set status = 'retired', status_changed_at = " ~ utc_now()
                ~ " where version = " ~ version
            ) %}
            {% do adapter.commit() %}
        {% endif %}
    {% endfor %}
    {% if retired %}
        {% do prune_row_versions() %}
    {% endif %}
{% endmacro %}


{#
    Re-point the consumer views to an earlier kept version: the newest superseded one
    before the live version, or the one named by `version`. The version left is marked
    rolled_back; the next successful `elt run` publishes a new version as usual.
#}
{% macro rollback_marts(version=none) %}
    {% do ensure_publish_log() %}
    {% set live = publish_log_rows("status = 'live'") %}
    {% if not live %}
        {% do exceptions.raise_compiler_error(
            'cannot roll back: no version is live yet (audit.publish_log is empty).'
        ) %}
    {% endif %}
    {% set live_version = live[0][0] %}
    {% if version is none %}
        {% set candidates = publish_log_rows("status = 'superseded' and version < " ~ live_version) %}
    {% else %}
        {% set candidates = publish_log_rows(
            "status in ('superseded', 'rolled_back') and version = " ~ version | int
        ) %}
    {% endif %}
    {% if not candidates %}
        {% do exceptions.raise_compiler_error(
            'cannot roll back from version ' ~ live_version ~ ': '
            ~ ('no earlier version is kept' if version is none else 'version ' ~ version ~ ' is not kept')
            ~ '. `elt status` lists the versions; retired ones are gone.'
        ) %}
    {% endif %}
    {% set target_version, schema_name, _ = candidates[0] %}
    {% do begin_publication_transaction() %}
    {% for statement in repoint_consumer_views(published_models(), schema_name) %}
        {% do run_write(statement) %}
    {% endfor %}
    {% do grant_published_marts(schema_name) %}
    {% do run_write(
        "update audit.publish_log set status = 'rolled_back', status_changed_at = " ~ utc_now()
        ~ " where version = " ~ live_version
    ) %}
    {% do run_write(
        "update audit.publish_log set status = 'live', status_changed_at = " ~ utc_now()
        ~ " where version = " ~ target_version
    ) %}
    {% do adapter.commit() %}
    {{ log('Rolled back: version ' ~ target_version ~ ' (' ~ schema_name ~ ') is live; version '
        ~ live_version ~ ' is marked rolled_back.', info=true) }}
{% endmacro %}


{#- A write inside the operation's one transaction (opened on first use, ended by adapter.commit()). -#}
{% macro run_write(sql) %}
    {% call statement('publication_write', auto_begin=True) %}{{ sql }}{% endcall %}
{% endmacro %}


{#- Naive UTC, like every audit timestamp the loader writes, whatever the session's time zone. -#}
{% macro utc_now() -%}
    cast(now() at time zone 'UTC' as timestamp)
{%- endmacro %}
