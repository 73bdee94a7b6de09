"""Load throughput of the ERP export, loader against each engine's own bulk path.

For each engine, each run loads the same landed export twice into a fresh warehouse:
  reference  DuckDB: `create table ... as select * from read_parquet(...)` per file;
             PostgreSQL: `COPY ... FROM STDIN` of the same rows, from CSV prepared beforehand.
  loader     `elt`'s loader: manifest checks, contract validation, duplicate check,
             metadata columns, quarantine, ledger, one transaction.
Runs alternate (reference, loader, reference, ...) so machine noise hits both alike.
The figure reported is rows per second and the ratio loader/reference (target >= 0.8).

    .venv/bin/python benchmarks/load_throughput.py --scale-factor 1 --runs 3

PostgreSQL is PGHOST's server when set, else a throwaway one from the pgserver wheel.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psycopg

from elt import local_pg
from elt.generate.export import generate_export
from elt.load.loader import load_batch
from elt.load.warehouse import open_duckdb, open_postgres
from elt.sources import erp_entities

BENCHMARK_DIR = Path(__file__).resolve().parent
# The ERP export's tables, as its source contract declares them (models/staging/erp/_erp__sources.yml).
ENTITIES = erp_entities(BENCHMARK_DIR.parent)


def duckdb_reference(export_dir: Path, database: Path) -> float:
    con = duckdb.connect(str(database))
    started = time.perf_counter()
    for entity in ENTITIES:
        con.execute(
            f"create table {entity.name} as select * from read_parquet($path)",
            {"path": str(export_dir / entity.file_name)},
        )
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def duckdb_loader(export_dir: Path, database: Path) -> float:
    started = time.perf_counter()
    with open_duckdb(database) as warehouse:
        load_batch(warehouse, export_dir, {})
    return time.perf_counter() - started


def prepare_csv(export_dir: Path, csv_dir: Path) -> None:
    """The reference COPY's input: the same rows as CSV, written once, outside the timing."""
    con = duckdb.connect()
    for entity in ENTITIES:
        target = str(csv_dir / f"{entity.name}.csv").replace("'", "''")
        con.execute(
            f"copy (select * from read_parquet($path)) to '{target}' (format csv, header false)",
            {"path": str(export_dir / entity.file_name)},
        )


def postgres_reference(csv_dir: Path, connection_kwargs: dict) -> float:
    with psycopg.connect(**connection_kwargs) as connection:
        for entity in ENTITIES:
            columns = ", ".join(f"{column.name} {column.sql_type}" for column in entity.columns)
            connection.execute(f"create table {entity.name} ({columns})")
        connection.commit()
        started = time.perf_counter()
        with connection.transaction(), connection.cursor() as cursor:
            for entity in ENTITIES:
                csv_path = csv_dir / f"{entity.name}.csv"
                with cursor.copy(f"copy {entity.name} from stdin (format csv)") as copy, csv_path.open("rb") as rows:
                    for chunk in iter(lambda: rows.read(1 << 20), b""):
                        copy.write(chunk)
        return time.perf_counter() - started


def postgres_loader(export_dir: Path, connection_kwargs: dict) -> float:
    with open_postgres(connection_kwargs) as warehouse:
        started = time.perf_counter()
        load_batch(warehouse, export_dir, {})
        return time.perf_counter() - started


class FreshDatabases:
    """A new, empty PostgreSQL database per measurement, dropped afterwards."""

    def __init__(self, admin_kwargs: dict) -> None:
        self.admin_kwargs = admin_kwargs
        self.count = 0

    def __call__(self, measure, *args) -> float:
        self.count += 1
        name = f"bench_load_{os.getpid()}_{self.count}"
        with psycopg.connect(**self.admin_kwargs, autocommit=True) as admin:
            admin.execute(f"create database {name}")
        try:
            return measure(*args, {**self.admin_kwargs, "dbname": name})
        finally:
            with psycopg.connect(**self.admin_kwargs, autocommit=True) as admin:
                admin.execute(f"drop database {name} with (force)")


def postgres_admin_kwargs(data_root: Path) -> dict:
    if not os.environ.get("PGHOST"):
        server = local_pg.start(data_root / "pg", keep_running=False)
        os.environ.update(local_pg.connection_env(server))
    return {
        "host": os.environ["PGHOST"],
        "port": int(os.environ.get("PGPORT", "5432")),
        "user": os.environ.get("PGUSER", "postgres"),
        "dbname": os.environ.get("PGDATABASE", "postgres"),
        **({"password": os.environ["PGPASSWORD"]} if os.environ.get("PGPASSWORD") else {}),
    }


def summarise(engine: str, rows: int, reference: list[float], loader: list[float]) -> dict:
    ratios = [ref / load for ref, load in zip(reference, loader, strict=True)]
    return {
        "engine": engine,
        "rows": rows,
        "reference_seconds": reference,
        "loader_seconds": loader,
        "reference_rows_per_second_median": rows / statistics.median(reference),
        "loader_rows_per_second_median": rows / statistics.median(loader),
        "ratio_min": min(ratios),
        "ratio_median": statistics.median(ratios),
        "target_ratio": 0.8,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale-factor", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="duckdb,postgres")
    parser.add_argument("--data-dir", type=Path, default=BENCHMARK_DIR / ".data")
    arguments = parser.parse_args()

    landing = arguments.data_dir / f"sf{arguments.scale_factor:g}" / "landing"
    manifest, _ = generate_export(landing, arguments.scale_factor)
    export_dir = landing / manifest.batch_id
    rows = sum(item.rows for item in manifest.files)
    engines = arguments.engines.split(",")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-load-", dir=arguments.data_dir) as scratch_name:
        scratch = Path(scratch_name)
        if "duckdb" in engines:
            reference, loader = [], []
            for run in range(arguments.runs):
                reference.append(duckdb_reference(export_dir, scratch / f"reference-{run}.duckdb"))
                loader.append(duckdb_loader(export_dir, scratch / f"loader-{run}.duckdb"))
                print(f"duckdb run {run + 1}: reference {reference[-1]:.2f}s, loader {loader[-1]:.2f}s", flush=True)
                for path in scratch.glob("*.duckdb"):
                    path.unlink()
            results.append(summarise("duckdb", rows, reference, loader))
        if "postgres" in engines:
            fresh = FreshDatabases(postgres_admin_kwargs(scratch))
            csv_dir = scratch / "csv"
            csv_dir.mkdir()
            prepare_csv(export_dir, csv_dir)
            reference, loader = [], []
            for run in range(arguments.runs):
                reference.append(fresh(postgres_reference, csv_dir))
                loader.append(fresh(postgres_loader, export_dir))
                print(f"postgres run {run + 1}: reference {reference[-1]:.2f}s, loader {loader[-1]:.2f}s", flush=True)
            results.append(summarise("postgres", rows, reference, loader))

    document = {
        "scale_factor": arguments.scale_factor,
        "runs": arguments.runs,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "duckdb_version": duckdb.__version__,
        "results": results,
    }
    output = BENCHMARK_DIR / "results" / f"load-throughput-sf{arguments.scale_factor:g}.json"
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print("\n| engine | rows | reference rows/s | loader rows/s | ratio min / median | target |")
    print("|---|---:|---:|---:|---:|---:|")
    for item in results:
        print(
            f"| {item['engine']} | {rows:,} | {item['reference_rows_per_second_median']:,.0f} "
            f"| {item['loader_rows_per_second_median']:,.0f} | {item['ratio_min']:.2f} / {item['ratio_median']:.2f} "
            f"| >= {item['target_ratio']} |"
        )
    print(f"\nWritten to {output}")


if __name__ == "__main__":
    main()
