{#
    Opens the one transaction a publication, a rollback or a retirement must run in.

    On PostgreSQL, dbt's run-operation starts by sending COMMIT as plain SQL (its
    clear_transaction), and psycopg2, which opened no transaction for it, then believes one
    is open and stops sending its implicit BEGIN: every statement after it autocommits. A
    crash mid-publication would leave consumers on some views of the new version and some of
    the old. An explicit BEGIN makes the server hold every statement until adapter.commit().
    (If psycopg2 is ever in step again, the server only warns that a transaction is open.)
    dbt-duckdb sends its own BEGIN for the first write, so DuckDB needs nothing here.
#}
{% macro begin_publication_transaction() %}
    {{ return(adapter.dispatch('begin_publication_transaction')()) }}
{% endmacro %}


{% macro default__begin_publication_transaction() %}
{% endmacro %}


{% macro postgres__begin_publication_transaction() %}
    {% do run_write('begin') %}
{% endmacro %}
