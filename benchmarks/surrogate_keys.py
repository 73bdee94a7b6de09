"""Which surrogate key joins faster: md5 text (32 characters) or a 64-bit integer, per engine.

The same star is built twice in one database: a dimension of `--versions` rows (customer
versions) and a fact of `--lines` rows pointing at them, once keyed by the md5 text the
marts used before decision 0033 and once by the integer macro surrogate_key makes now
(the first 60 bits of the same md5). Then the join every report makes (fact to dimension,
grouped by a dimension attribute) runs alternately on each key, `--runs` times after a
warm-up. The figure is the median time and the ratio text / integer. The tables' sizes are
reported too, and on PostgreSQL the plan (EXPLAIN ANALYZE) of one run of each.

    .venv/bin/python benchmarks/surrogate_keys.py --lines 6000000 --versions 200000 --runs 5

DuckDB runs in a file under benchmarks/.data/; PostgreSQL is PGHOST's server when set, else a
throwaway one from the pgserver wheel. Writes benchmarks/results/surrogate_keys.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psycopg

BENCHMARK_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARK_DIR))

from load_throughput import postgres_admin_kwargs  # noqa: E402

# The key expressions, as macros/surrogate_key.sql writes them (and the md5 text before it).
TEXT_KEY = "md5(cast(customer_id as varchar) || '|' || cast(valid_from as varchar))"
INTEGER_KEY = {
    "duckdb": f"cast('0x' || substr({TEXT_KEY}, 1, 15) as bigint)",
    "postgres": f"cast(cast('x' || substr({TEXT_KEY}, 1, 15) as bit(60)) as bigint)",
}
SERIES = {
    "duckdb": "select range as n from range({count})",
    "postgres": "select n from generate_series(cast(0 as bigint), {count} - 1) as n",
}
REGIONS = (
    "case n % 5 when 0 then 'AFRICA' when 1 then 'AMERICA' when 2 then 'ASIA' when 3 then 'EUROPE' "
    "else 'MIDDLE EAST' end"
)


def build_statements(engine: str, lines: int, versions: int) -> list[str]:
    versions_sql = SERIES[engine].format(count=versions)
    lines_sql = SERIES[engine].format(count=lines)
    return [
        "drop table if exists sk_dimension",
        "drop table if exists sk_fact",
        # Two versions per customer: ids 0..versions/2, each valid from 1900-01-01 and from a later day.
        f"""create table sk_dimension as
            select version_number, customer_id, valid_from, region_name,
                {TEXT_KEY} as text_key, {INTEGER_KEY[engine]} as integer_key
            from (
                select n as version_number, n / 2 as customer_id,
                    case when n % 2 = 0 then date '1900-01-01' else date '1995-01-01' + cast(n % 1000 as integer) end
                        as valid_from,
                    {REGIONS} as region_name
                from ({versions_sql}) as series
            ) as versions""",
        # Each line points at a version picked by a multiplicative hash of its number, so the
        # lines spread over the whole dimension in no order.
        f"""create table sk_fact as
            select dimension.text_key, dimension.integer_key,
                cast((series.n % 100000) * 0.01 as decimal(18, 4)) as net_revenue
            from ({lines_sql}) as series
            inner join sk_dimension as dimension
                on dimension.version_number = (series.n * 7919) % {versions}""",
    ]


def join_sql(key: str) -> str:
    return (
        "select dimension.region_name, sum(fact.net_revenue) as revenue, count(*) as line_count "
        f"from sk_fact as fact inner join sk_dimension as dimension on fact.{key} = dimension.{key} "
        "group by dimension.region_name"
    )


def alternate(execute, runs: int) -> dict:
    timings: dict[str, list[float]] = {"text_key": [], "integer_key": []}
    answers = {key: execute(join_sql(key)) for key in timings}  # warm-up, and the answers compared
    for _ in range(runs):
        for key in timings:
            started = time.perf_counter()
            execute(join_sql(key))
            timings[key].append(time.perf_counter() - started)
    text, integer = statistics.median(timings["text_key"]), statistics.median(timings["integer_key"])
    return {
        "text_key_seconds": timings["text_key"],
        "integer_key_seconds": timings["integer_key"],
        "text_key_median": round(text, 4),
        "integer_key_median": round(integer, 4),
        "text_over_integer": round(text / integer, 2),
        "same_answer": sorted(answers["text_key"]) == sorted(answers["integer_key"]),
    }


def run_duckdb(lines: int, versions: int, runs: int) -> dict:
    work = BENCHMARK_DIR / ".data"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as scratch, duckdb.connect(str(Path(scratch) / "keys.duckdb")) as db:
        for statement in build_statements("duckdb", lines, versions):
            db.execute(statement)
        fact_rows = db.execute("select count(*) from sk_fact").fetchone()[0]
        result = alternate(lambda sql: db.execute(sql).fetchall(), runs)
        sizes = {
            key: db.execute(f"select sum(length({key}::varchar)) from sk_dimension").fetchone()[0]
            for key in ("text_key", "integer_key")
        }
    return {"engine": "duckdb", "duckdb": duckdb.__version__, "fact_rows": fact_rows, **result, "key_characters": sizes}


def run_postgres(lines: int, versions: int, runs: int) -> dict:
    admin = postgres_admin_kwargs(BENCHMARK_DIR / ".data")
    database = f"bench_keys_{os.getpid()}"
    with psycopg.connect(**admin, autocommit=True) as connection:
        connection.execute(f"create database {database}")
    try:
        with psycopg.connect(**{**admin, "dbname": database}, autocommit=True) as db:
            for statement in build_statements("postgres", lines, versions):
                db.execute(statement)
            db.execute("analyze sk_dimension")
            db.execute("analyze sk_fact")
            fact_rows = db.execute("select count(*) from sk_fact").fetchone()[0]
            result = alternate(lambda sql: db.execute(sql).fetchall(), runs)
            plans = {
                key: [row[0] for row in db.execute(f"explain (analyze, costs off) {join_sql(key)}").fetchall()]
                for key in ("text_key", "integer_key")
            }
            column_bytes = {
                key: db.execute(f"select sum(pg_column_size({key})) from sk_fact").fetchone()[0]
                for key in ("text_key", "integer_key")
            }
            version = db.execute("show server_version").fetchone()[0]
    finally:
        with psycopg.connect(**admin, autocommit=True) as connection:
            connection.execute(f"drop database {database} with (force)")
    return {
        "engine": "postgres",
        "postgres": version,
        "fact_rows": fact_rows,
        **result,
        "fact_key_bytes": column_bytes,
        "plans": plans,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=6_000_000)
    parser.add_argument("--versions", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="duckdb,postgres")
    args = parser.parse_args()
    results = []
    for engine in args.engines.split(","):
        result = (run_duckdb if engine == "duckdb" else run_postgres)(args.lines, args.versions, args.runs)
        print(
            f"{engine:9} {result['fact_rows']} lines: text key {result['text_key_median']:.3f} s, "
            f"integer key {result['integer_key_median']:.3f} s, text / integer {result['text_over_integer']:.2f}, "
            f"same answer: {result['same_answer']}"
        )
        results.append(result)
    document = {
        "measured_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "cpus": os.cpu_count(),
        "lines": args.lines,
        "versions": args.versions,
        "runs": args.runs,
        "results": results,
    }
    output = BENCHMARK_DIR / "results" / "surrogate_keys.json"
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {output.relative_to(BENCHMARK_DIR.parent)}")


if __name__ == "__main__":
    main()
