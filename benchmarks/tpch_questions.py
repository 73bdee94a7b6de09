"""The 22 TPC-H questions, asked of the marts against the official queries over raw (DuckDB).

An `elt run` builds the warehouse from the export alone (no daily batches), so raw holds
exactly one version of every row and the official queries (elt.bench.tpch) read raw as it
is, through views in schema tpch_raw that only give raw's tables TPC-H's names and leave
out the loader's metadata columns. The marts' answers are the compiled analyses in
analyses/tpch/.

Each question runs alternately over raw and over the marts: one warm-up each, then `--runs`
timed runs each; the figure is the median, with the ratio marts / raw (target: no question
above 1.2). Both answers are compared too, so a fast wrong answer does not count. Writes
benchmarks/results/tpch_questions_sf<N>.json and the table between the markers in
benchmarks/README.md.

    .venv/bin/python benchmarks/tpch_questions.py --scale-factor 1 --runs 5

The warehouse is built under benchmarks/.data/tpch-sf<N>/ and kept for the next run
(`--rebuild` builds it again); the analyses are compiled again each time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from elt.bench.tpch import OFFICIAL, RAW_TABLES, comparable

BENCHMARK_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCHMARK_DIR.parent
RAW_SCHEMA = "tpch_raw"
TARGET_RATIO = 1.2
TABLE_START = "<!-- tpch-questions:start -->"
TABLE_END = "<!-- tpch-questions:end -->"


def build(work_dir: Path, scale_factor: str, rebuild: bool) -> dict[str, str]:
    """The environment of a warehouse `elt run` built from the SF export alone (built once, kept)."""
    env = {
        **os.environ,
        "ELT_LANDING_DIR": str(work_dir / "landing"),
        "WAREHOUSE_DUCKDB_PATH": str(work_dir / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(work_dir / "target"),
        "DBT_LOG_PATH": str(work_dir / "logs"),
        "ELT_STATE_DIR": str(work_dir / "state"),
        "ELT_RUN_DOCS": "true",
    }
    if rebuild and work_dir.exists():
        shutil.rmtree(work_dir)
    if not (work_dir / "warehouse.duckdb").exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        elt = Path(sys.executable).parent / "elt"
        started = time.perf_counter()
        subprocess.run(
            [str(elt), "run", "--target", "dev", "--scale-factor", scale_factor, "--days", "0"],
            env=env,
            cwd=PROJECT_DIR,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"built the SF {scale_factor} warehouse in {time.perf_counter() - started:.0f} s")
    # The analyses as they are now, even over a warehouse kept from an earlier run.
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "compile", "--select", "path:analyses/tpch", "--target", "dev", "--quiet"],
        env=env,
        cwd=PROJECT_DIR,
        check=True,
    )
    return env


def raw_views(connection: duckdb.DuckDBPyConnection) -> None:
    """Views named like TPC-H's tables over raw, without the loader's metadata columns."""
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    for name, (raw_table, _) in RAW_TABLES.items():
        columns = [
            row[0]
            for row in connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = ? and column_name not like '\\_%' escape '\\' "
                "order by ordinal_position",
                [raw_table],
            ).fetchall()
        ]
        versions = connection.execute(f"select count(*) > 0 from raw.{raw_table} where _op <> 'insert'").fetchone()[0]
        if versions:
            sys.exit(f"raw.{raw_table} holds more than the export's rows: build from the export alone (--rebuild).")
        connection.execute(
            f"create or replace view {RAW_SCHEMA}.{name} as select {', '.join(columns)} from raw.{raw_table}"
        )


def timed(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, list[tuple]]:
    started = time.perf_counter()
    rows = connection.execute(sql).fetchall()
    return time.perf_counter() - started, rows


def measure(database: Path, compiled_dir: Path, runs: int) -> list[dict]:
    results = []
    with duckdb.connect(str(database)) as connection:
        raw_views(connection)
        connection.execute(f"set search_path = '{RAW_SCHEMA},main'")
        for name, official_sql in OFFICIAL.items():
            marts_sql = (compiled_dir / f"{name}.sql").read_text()
            _, raw_rows = timed(connection, official_sql)
            _, mart_rows = timed(connection, marts_sql)
            raw_seconds, mart_seconds = [], []
            for _ in range(runs):
                raw_seconds.append(timed(connection, official_sql)[0])
                mart_seconds.append(timed(connection, marts_sql)[0])
            raw_median, marts_median = statistics.median(raw_seconds), statistics.median(mart_seconds)
            results.append(
                {
                    "question": name,
                    "rows": len(raw_rows),
                    "answers_equal": comparable(raw_rows) == comparable(mart_rows),
                    "raw_seconds": round(raw_median, 4),
                    "marts_seconds": round(marts_median, 4),
                    "ratio": round(marts_median / raw_median, 2),
                }
            )
            print(
                f"{name:45} raw {raw_median:7.3f} s  marts {marts_median:7.3f} s  "
                f"ratio {marts_median / raw_median:5.2f}  {'equal' if results[-1]['answers_equal'] else 'DIFFERENT'}"
            )
    return results


def markdown(document: dict) -> str:
    lines = [
        f"SF {document['scale_factor']}, DuckDB {document['duckdb']}, {document['cpus']} CPUs, median of "
        f"{document['runs']} runs each after a warm-up, measured {document['measured_at']} by "
        "`benchmarks/tpch_questions.py`.",
        "",
        "| question | rows | over raw (s) | over marts (s) | marts / raw | same answer |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in document["questions"]:
        lines.append(
            f"| {row['question'].removeprefix('tpch_')} | {row['rows']} | {row['raw_seconds']:.3f} | "
            f"{row['marts_seconds']:.3f} | {row['ratio']:.2f} | {'yes' if row['answers_equal'] else '**no**'} |"
        )
    slowest = max(document["questions"], key=lambda row: row["ratio"])
    lines += [
        "",
        f"Slowest relative to raw: {slowest['question'].removeprefix('tpch_')} at {slowest['ratio']:.2f}x "
        f"(target: at most {TARGET_RATIO}x); total {document['raw_total_seconds']:.2f} s over raw, "
        f"{document['marts_total_seconds']:.2f} s over the marts.",
    ]
    return "\n".join(lines)


def write_readme(document: dict) -> None:
    readme = BENCHMARK_DIR / "README.md"
    text = readme.read_text()
    if TABLE_START not in text:
        sys.exit(f"{readme} has no {TABLE_START} marker to write the table after.")
    before, rest = text.split(TABLE_START, 1)
    _, after = rest.split(TABLE_END, 1)
    readme.write_text(f"{before}{TABLE_START}\n{markdown(document)}\n{TABLE_END}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale-factor", default="1")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="build the warehouse again")
    args = parser.parse_args()
    work_dir = BENCHMARK_DIR / ".data" / f"tpch-sf{args.scale_factor}"
    env = build(work_dir, args.scale_factor, args.rebuild)
    compiled_dir = Path(env["DBT_TARGET_PATH"]) / "compiled" / "wholesale" / "analyses" / "tpch"
    questions = measure(Path(env["WAREHOUSE_DUCKDB_PATH"]), compiled_dir, args.runs)
    document = {
        "scale_factor": args.scale_factor,
        "runs": args.runs,
        "duckdb": duckdb.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "measured_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "questions": questions,
        "raw_total_seconds": round(sum(row["raw_seconds"] for row in questions), 3),
        "marts_total_seconds": round(sum(row["marts_seconds"] for row in questions), 3),
        "all_answers_equal": all(row["answers_equal"] for row in questions),
        "worst_ratio": max(row["ratio"] for row in questions),
        "target_ratio": TARGET_RATIO,
    }
    results = BENCHMARK_DIR / "results" / f"tpch_questions_sf{args.scale_factor}.json"
    results.write_text(json.dumps(document, indent=2) + "\n")
    write_readme(document)
    print(f"wrote {results.relative_to(PROJECT_DIR)} and the table in benchmarks/README.md")


if __name__ == "__main__":
    main()
