{#
    Publish only what was audited (docs/decisions/0023-publish-only-what-was-audited.md).

    The warehouse, not a results file, says which build of each mart its tests passed on:

    audit.mart_builds        one row per mart relation: the dbt invocation that last wrote
                             it (a post-hook of every mart, in the model's own transaction,
                             so a build that stops before its commit leaves the old stamp)
    audit.mart_test_audits   one row per data test of a mart: whether it last passed or
                             failed, and the stamps of the marts it read then (its
                             signature), written when the dbt command that ran it ends
    audit.mart_builds_at_start  the stamps as each dbt command found them, so the command's
                             end can tell a mart it built from one that another command
                             rebuilt while its tests ran

    publish_marts copies a mart only if every one of its tests has a passing row whose
    signature is the marts' stamps now. A `dbt run`, a `dbt run -s one_mart`, a build killed
    half-way or a manual build with a failed test all leave a stamp no passing test has seen.
#}

{% macro ensure_audit_tables() %}
    {% do run_write("create schema if not exists audit") %}
    {% do run_write(
        "create table if not exists audit.mart_builds ("
        ~ " relation_name varchar(256) not null,"
        ~ " build_id varchar(64) not null,"
        ~ " built_at timestamp not null)"
    ) %}
    {% do run_write(
        "create table if not exists audit.mart_builds_at_start ("
        ~ " invocation_id varchar(64) not null,"
        ~ " relation_name varchar(256) not null,"
        ~ " build_id varchar(64) not null,"
        ~ " started_at timestamp not null)"
    ) %}
    {% do run_write(
        "create table if not exists audit.mart_test_audits ("
        ~ " test_key varchar(600) not null,"
        ~ " status varchar(16) not null,"
        ~ " signature varchar(8000) not null,"
        ~ " invocation_id varchar(64) not null,"
        ~ " audited_at timestamp not null)"
    ) %}
{% endmacro %}


{#- The post-hook of every mart (dbt_project.yml): this invocation wrote this relation. -#}
{% macro stamp_mart_build() -%}
    {%- set relation_name = this.schema ~ '.' ~ this.identifier -%}
    delete from audit.mart_builds where relation_name = '{{ relation_name }}';
    insert into audit.mart_builds values ('{{ relation_name }}', '{{ invocation_id }}', {{ utc_now() }})
{%- endmacro %}


{#- on-run-start: the tables above, and the stamps as this command found them. -#}
{% macro start_mart_audit() %}
    {% if execute %}
        {% do begin_publication_transaction() %}
        {% do assume_target_role() %}
        {% do ensure_audit_tables() %}
        {% do run_write(
            "insert into audit.mart_builds_at_start select '" ~ invocation_id ~ "', relation_name, build_id, "
            ~ utc_now() ~ " from audit.mart_builds"
        ) %}
        {% do adapter.commit() %}
    {% endif %}
    {{ return('') }}
{% endmacro %}


{#-
    On PostgreSQL, dbt runs the project's hooks as the login user, not as the profile's role
    (models and operations get the role): the audit tables would belong to the login user and
    the marts' post-hooks, run as the role, could not write them. The hooks take the role
    for their own transaction.
-#}
{% macro assume_target_role() %}
    {{ return(adapter.dispatch('assume_target_role')()) }}
{% endmacro %}


{% macro default__assume_target_role() %}
{% endmacro %}


{% macro postgres__assume_target_role() %}
    {% if target.get('role') %}
        {% do run_write('set local role ' ~ adapter.quote(target.role)) %}
    {% endif %}
{% endmacro %}


{#- The schema-qualified name a mart node is built as (the key of its stamp). -#}
{% macro mart_relation_name(node) %}
    {{ return(node.schema ~ '.' ~ node.alias) }}
{% endmacro %}


{% macro is_mart(node) %}
    {{ return(node.resource_type == 'model' and node.fqn[1] == 'marts') }}
{% endmacro %}


{#- The mart relations whose builds decide what `node` shows: itself, and for a view the marts it reads. -#}
{% macro mart_closure(node) %}
    {% set relations = [mart_relation_name(node)] %}
    {% if node.config.materialized == 'view' %}
        {% for parent_id in node.depends_on.nodes %}
            {% set parent = graph.nodes.get(parent_id) %}
            {% if parent is not none and is_mart(parent) %}
                {% do relations.extend(mart_closure(parent)) %}
            {% endif %}
        {% endfor %}
    {% endif %}
    {{ return(relations) }}
{% endmacro %}


{#- The marts a test reads, directly or through a mart view. -#}
{% macro test_mart_relations(test) %}
    {% set relations = [] %}
    {% for parent_id in test.depends_on.nodes %}
        {% set parent = graph.nodes.get(parent_id) %}
        {% if parent is not none and is_mart(parent) %}
            {% do relations.extend(mart_closure(parent)) %}
        {% endif %}
    {% endfor %}
    {{ return(relations | unique | sort) }}
{% endmacro %}


{#- "relation=build, ..." over `relations`: what a test's pass is valid for. -#}
{% macro build_signature(relations, stamps) %}
    {% set parts = [] %}
    {% for relation in relations | unique | sort %}
        {% do parts.append(relation ~ '=' ~ stamps.get(relation, 'unstamped')) %}
    {% endfor %}
    {{ return(parts | join(',')) }}
{% endmacro %}


{% macro read_build_stamps(where='') %}
    {% set stamps = {} %}
    {% for row in run_query("select relation_name, build_id from audit.mart_builds" ~ where).rows %}
        {% do stamps.update({row[0]: row[1]}) %}
    {% endfor %}
    {{ return(stamps) }}
{% endmacro %}


{#- Slim CI runs the same tests on ci_ relations: its audits must not replace production's. -#}
{% macro test_audit_key(test) %}
    {{ return(var('schema_prefix', '') ~ test.unique_id) }}
{% endmacro %}


{#- The tests whose pass a publication requires: every data test of a mart the scheduled build runs. -#}
{% macro guarding_tests() %}
    {% set by_mart = {} %}
    {% for node in graph.nodes.values() if node.resource_type == 'test' %}
        {% if 'implied_by_parent_tests' not in node.tags %}
            {% for parent_id in node.depends_on.nodes %}
                {% do by_mart.setdefault(parent_id, []).append(node) %}
            {% endfor %}
        {% endif %}
    {% endfor %}
    {{ return(by_mart) }}
{% endmacro %}


{#-
    on-run-end: record each mart test this command ran, with the signature it ran against.
    A pass counts only if no other command rebuilt one of its marts meanwhile: each stamp
    must be this command's own (built before its tests, in DAG order) or the one it found.
-#}
{% macro record_mart_audits(results) %}
    {% if not execute %}
        {{ return('') }}
    {% endif %}
    {% do begin_publication_transaction() %}
    {% do assume_target_role() %}
    {% do ensure_audit_tables() %}
    {% set stamps = read_build_stamps() %}
    {% set found = {} %}
    {% for row in run_query(
        "select relation_name, build_id from audit.mart_builds_at_start where invocation_id = '" ~ invocation_id ~ "'"
    ).rows %}
        {% do found.update({row[0]: row[1]}) %}
    {% endfor %}
    {% set audited = {} %}
    {% for result in results if result.node.resource_type == 'test' %}
        {% set test = graph.nodes.get(result.node.unique_id, result.node) %}
        {% set relations = test_mart_relations(test) %}
        {% set unchanged = [] %}
        {% for relation in relations %}
            {% if stamps.get(relation) in (invocation_id, found.get(relation)) %}
                {% do unchanged.append(relation) %}
            {% endif %}
        {% endfor %}
        {% if relations and result.status in ('fail', 'error', 'runtime error') %}
            {% do audited.update({test_audit_key(test): ('fail', build_signature(relations, stamps))}) %}
        {% elif relations and result.status in ('pass', 'warn') and unchanged | length == relations | length %}
            {% do audited.update({test_audit_key(test): ('pass', build_signature(relations, stamps))}) %}
        {% endif %}
    {% endfor %}
    {% for keys in audited.keys() | sort | batch(200) %}
        {% set values = [] %}
        {% for key in keys %}
            {% do values.append("('" ~ key ~ "', '" ~ audited[key][0] ~ "', '" ~ audited[key][1] ~ "', '"
                ~ invocation_id ~ "', " ~ utc_now() ~ ")") %}
        {% endfor %}
        {% do run_write("delete from audit.mart_test_audits where test_key in ('" ~ keys | join("', '") ~ "')") %}
        {% do run_write("insert into audit.mart_test_audits values " ~ values | join(', ')) %}
    {% endfor %}
    {#- A command killed before its end leaves its rows; a day is long past any build. -#}
    {% do run_write(
        "delete from audit.mart_builds_at_start where invocation_id = '" ~ invocation_id ~ "'"
        ~ " or started_at < " ~ utc_now() ~ " - interval '1 day'"
    ) %}
    {% do adapter.commit() %}
    {{ return('') }}
{% endmacro %}


{#-
    The marts of `models` whose tests have not all passed on the builds marts_build holds:
    (failed: [name, ...], not audited: [name, ...]).
-#}
{% macro unaudited_marts(models) %}
    {% do ensure_audit_tables() %}
    {% set stamps = read_build_stamps() %}
    {% set audits = {} %}
    {% for row in run_query("select test_key, status, signature from audit.mart_test_audits").rows %}
        {% do audits.update({row[0]: (row[1], row[2])}) %}
    {% endfor %}
    {% set tests_of = guarding_tests() %}
    {% set failed = [] %}
    {% set unaudited = [] %}
    {% for node in models %}
        {% set tests = tests_of.get(node.unique_id, []) %}
        {% set verdicts = [] if tests else ['unaudited'] %}
        {% for test in tests %}
            {% set audit = audits.get(test_audit_key(test)) %}
            {% if audit is none or audit[1] != build_signature(test_mart_relations(test), stamps) %}
                {% do verdicts.append('unaudited') %}
            {% elif audit[0] != 'pass' %}
                {% do verdicts.append('failed') %}
            {% endif %}
        {% endfor %}
        {% if 'failed' in verdicts %}
            {% do failed.append(node.name) %}
        {% elif verdicts %}
            {% do unaudited.append(node.name) %}
        {% endif %}
    {% endfor %}
    {{ return((failed, unaudited)) }}
{% endmacro %}


{#- What publish_marts compares with the live version: the builds of every mart it would copy. -#}
{% macro marts_build_signature(models) %}
    {% set relations = [] %}
    {% for node in models %}
        {% do relations.append(mart_relation_name(node)) %}
    {% endfor %}
    {{ return(build_signature(relations, read_build_stamps())) }}
{% endmacro %}
