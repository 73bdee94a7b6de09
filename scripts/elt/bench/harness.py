"""`elt bench`: the pipeline timed against hand-written SQL, per scenario, engine and scale.

Every measured run is a child process (elt.bench.child) on a fresh warehouse: a new
DuckDB file or a new PostgreSQL database. Reference and pipeline runs alternate so the
machine's noise falls on both alike, and each figure is reported as min and median of
the runs, and as a ratio against the reference measured in the same invocation.

Scenarios:
  full   load the export's day (every source's batches of it) + dbt build + publish, against
         the same load + benchmarks/reference/<engine>/*.sql
  daily  after a full build and the days that reach the steady state, load one more day
         (every source's batches of it) + dbt build + publish, against the full build
  kpi    1M order lines (SF 0.17) from landing files to tested marts, on DuckDB
  scale  the full build at several scale factors: how time and memory grow
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import psycopg
import yaml
from rich.console import Console

from elt import local_pg
from elt.errors import EltError
from elt.generate.export import generate_all
from elt.settings import Paths
from elt.sources import ERP

ENGINES = {"duckdb": "dev", "postgres": "pg"}
# The one warehouse every measured run uses, emptied between runs (Bench.fresh_warehouse).
BENCH_WAREHOUSE = "bench_warehouse"
KPI_SCALE_FACTOR = 0.17  # TPC-H has about 6M order lines per SF: 0.17 is just over 1M
SCALE_FACTORS = {"duckdb": (0.1, 1.0, 10.0), "postgres": (0.1, 1.0)}
TARGETS = {
    ("full", "duckdb"): ("ratio", 1.3, "dbt pipeline <= 1.3x the hand-written reference"),
    ("full", "postgres"): ("ratio", 1.5, "dbt pipeline <= 1.5x the hand-written reference"),
    ("daily", "duckdb"): ("ratio", 0.10, "daily increment <= 10% of the full build"),
    ("daily", "postgres"): ("ratio", 0.10, "daily increment <= 10% of the full build"),
    ("kpi", "duckdb"): ("seconds", 6.0, "1M order lines, landing files to tested marts, < 6 s warm"),
}


@dataclass
class Measured:
    spec: dict
    stages: dict[str, float]
    peak_rss_mb: float
    details: dict = field(default_factory=dict)

    def seconds(self, *stages: str) -> float:
        return sum(self.stages[name] for name in stages)


def machine_facts(postgres_version: str | None, project_dir: Path) -> dict:
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu_model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from dbt.version import __version__ as dbt_version

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=False
    )
    return {
        # The code measured (with "+changes" when the checkout had uncommitted edits).
        "commit": (commit.stdout.strip() + ("+changes" if _checkout_is_dirty(project_dir) else "")) or None,
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(memory_gib, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
        "dbt_core": str(dbt_version),
        "postgresql": postgres_version,
    }


# What a benchmark measures: an uncommitted edit here marks the result "+changes".
MEASURED_CODE = (
    "models",
    "macros",
    "snapshots",
    "seeds",
    "tests/dbt",
    "scripts",
    "benchmarks/reference",
    "dbt_project.yml",
    "profiles.yml",
)


def _checkout_is_dirty(project_dir: Path) -> bool:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", *MEASURED_CODE],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    return bool(status.stdout.strip())


class Bench:
    def __init__(self, paths: Paths, data_dir: Path, runs: int, console: Console) -> None:
        self.paths = paths
        self.data_dir = data_dir
        self.runs = runs
        self.console = console
        self.results_dir = paths.project_dir / "benchmarks" / "results"
        self._admin: dict[str, str] | None = None

    # --- data and warehouses -------------------------------------------------------------

    def landing(self, scale_factor: float, with_daily: bool) -> tuple[Path, list[str], list[list[str]]]:
        """The batches of the export's day (the ERP's export and every other source's first
        deliveries) and, for the daily scenario if asked, those of each day after it; generated
        once, reused. A day is every source's deliveries of that business date, as `elt run`
        loads them."""
        landing = self.data_dir / f"sf{scale_factor:g}" / "landing"
        days = steady_state_days(self.paths.project_dir) + 1 if with_daily else 0
        with self.console.status(f"Generating the SF {scale_factor:g} export and {days} daily batches (once)"):
            landed = generate_all(landing, scale_factor, days=days, seed=1)
        by_day: dict[date, list[str]] = {}
        # The ERP's batch first on each day: the export is what the KPI counts the lines of.
        for manifest, _ in sorted(landed, key=lambda item: (item[0].source != ERP, item[0].batch_id)):
            by_day.setdefault(manifest.business_date, []).append(manifest.batch_id)
        first, *later = [by_day[day] for day in sorted(by_day)]
        return landing, first, later

    def postgres_admin(self) -> dict[str, str]:
        if self._admin is None:
            if os.environ.get("PGHOST"):
                self._admin = {
                    key: os.environ[key]
                    for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
                    if key in os.environ
                }
            else:
                server = local_pg.start(self.data_dir / "pg", keep_running=False)
                self._admin = local_pg.connection_env(server)
        return self._admin

    def postgres_version(self) -> str:
        with self._admin_connection() as admin:
            return admin.execute("show server_version").fetchone()[0]

    def _admin_connection(self) -> psycopg.Connection:
        admin = self.postgres_admin()
        return psycopg.connect(
            host=admin["PGHOST"],
            port=int(admin.get("PGPORT", "5432")),
            user=admin.get("PGUSER", "postgres"),
            password=admin.get("PGPASSWORD") or None,
            dbname=admin.get("PGDATABASE", "postgres"),
            autocommit=True,
        )

    @contextmanager
    def fresh_warehouse(self, engine: str) -> Iterator[dict[str, str]]:
        """Environment variables naming an empty warehouse; emptied again afterwards.

        Always the same name (a file path or a database name), as a deployed job's warehouse
        is: dbt folds the connection settings into the hash that decides whether it may
        parse partially, so a new name per run would make every measured build parse the
        whole project again (about 3.5 s at SF1 on DuckDB) instead of starting warm.
        """
        if engine == "duckdb":
            path = self.data_dir / "warehouses" / f"{BENCH_WAREHOUSE}.duckdb"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._remove_duckdb_files(path)
            try:
                yield {"WAREHOUSE_DUCKDB_PATH": str(path)}
            finally:
                self._remove_duckdb_files(path)
            return
        with self._admin_connection() as admin:
            admin.execute(f'drop database if exists "{BENCH_WAREHOUSE}" with (force)')
            admin.execute(f'create database "{BENCH_WAREHOUSE}"')
        try:
            yield {**self.postgres_admin(), "PGDATABASE": BENCH_WAREHOUSE}
        finally:
            with self._admin_connection() as admin:
                admin.execute(f'drop database if exists "{BENCH_WAREHOUSE}" with (force)')

    @staticmethod
    def _remove_duckdb_files(path: Path) -> None:
        """The database file and what DuckDB keeps beside it (write-ahead log, spill directory)."""
        for leftover in path.parent.glob(f"{path.name}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()

    def child_env(self, engine: str, landing: Path, warehouse: dict[str, str]) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PG", "WAREHOUSE_"))}
        env.update(warehouse)
        env.update(
            {
                "ELT_PROJECT_DIR": str(self.paths.project_dir),
                "ELT_LANDING_DIR": str(landing),
                # One dbt target directory per engine, kept between runs: partial parsing
                # makes every build after the first start warm, as a deployed job's would.
                "DBT_TARGET_PATH": str(self.data_dir / f"dbt-target-{engine}"),
                "DBT_LOG_PATH": str(self.data_dir / f"dbt-logs-{engine}"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            }
        )
        return env

    # --- measuring -----------------------------------------------------------------------

    def measure(self, spec: dict, env: dict[str, str]) -> Measured:
        """Run one child to completion; its wall time per stage, and its peak RSS from wait4."""
        command = [sys.executable, "-m", "elt.bench.child", json.dumps(spec)]
        with tempfile.TemporaryFile(mode="w+") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            output.seek(0)
            text = output.read()
        if process.returncode != 0:
            raise EltError(f"benchmark run {spec['work']} failed (exit {process.returncode}):\n{text[-4000:]}")
        line = next(line for line in reversed(text.splitlines()) if line.startswith("BENCH-RESULT "))
        result = json.loads(line.removeprefix("BENCH-RESULT "))
        # ru_maxrss is in KiB on Linux.
        return Measured(spec, result.pop("stages"), round(usage.ru_maxrss / 1024, 1), result)

    def warm_up(self, engine: str, landing: Path) -> None:
        """Parse the project once per engine, so measured builds start warm (partial parsing)."""
        with self.fresh_warehouse(engine) as warehouse:
            env = self.child_env(engine, landing, warehouse)
            project = str(self.paths.project_dir)
            dbt = Path(sys.executable).parent / "dbt"
            command = [str(dbt), "parse", "--project-dir", project, "--profiles-dir", project, "--target"]
            subprocess.run([*command, ENGINES[engine]], env=env, check=True, capture_output=True)

    def alternate(self, engine: str, scale_factor: float, with_daily: bool) -> tuple[list[Measured], list[Measured]]:
        """Reference and pipeline runs, alternating, each on a fresh warehouse."""
        landing, first_batches, daily_batches = self.landing(scale_factor, with_daily)
        self.warm_up(engine, landing)
        references: list[Measured] = []
        pipelines: list[Measured] = []
        for run in range(1, self.runs + 1):
            for work, runs in (("reference", references), ("pipeline", pipelines)):
                spec = {
                    "work": work,
                    "target": ENGINES[engine],
                    "first_batches": first_batches,
                    "daily_batches": daily_batches if work == "pipeline" and with_daily else None,
                }
                progress = f"{engine} SF {scale_factor:g} run {run}/{self.runs}: {work}"
                with self.fresh_warehouse(engine) as warehouse, self.console.status(progress):
                    measured = self.measure(spec, self.child_env(engine, landing, warehouse))
                runs.append(measured)
                stages = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in measured.stages.items())
                self.console.print(
                    f"{engine} SF {scale_factor:g} run {run}: {work}: {stages}; peak RSS {measured.peak_rss_mb:,.0f} MB"
                )
        return references, pipelines

    # --- scenarios -----------------------------------------------------------------------

    def full_and_daily(self, engine: str, scale_factor: float, daily: bool, scenario: str = "full") -> list[dict]:
        """The full build (labelled `scenario`: full, or scale for a point of the scale series)
        and, if asked, the daily increment after it."""
        references, pipelines = self.alternate(engine, scale_factor, with_daily=daily)
        pipeline_seconds = [run.seconds("load", "dbt_build", "publish") for run in pipelines]
        reference_seconds = [run.seconds("load", "reference_sql") for run in references]
        rows = pipelines[0].details["rows_loaded"]
        median_pipeline = median_run(pipelines, pipeline_seconds)
        documents = [
            self.document(
                scenario,
                engine,
                scale_factor,
                measured=pipeline_seconds,
                reference=reference_seconds,
                extra={
                    "rows_loaded": rows,
                    "rows_quarantined": pipelines[0].details["rows_quarantined"],
                    "rows_per_second_median": round(rows / statistics.median(pipeline_seconds)),
                    "transform_seconds": summary([run.stages["dbt_build"] for run in pipelines]),
                    "publish_seconds": summary([run.stages["publish"] for run in pipelines]),
                    "reference_sql_seconds": summary([run.stages["reference_sql"] for run in references]),
                    "load_seconds": summary([run.stages["load"] for run in pipelines]),
                    "peak_rss_mb": {
                        "pipeline": max(run.peak_rss_mb for run in pipelines),
                        "reference": max(run.peak_rss_mb for run in references),
                    },
                    "runs": [
                        {"work": run.spec["work"], "stages": run.stages, "peak_rss_mb": run.peak_rss_mb}
                        for run in [*references, *pipelines]
                    ],
                    **build_profile(median_pipeline.details["dbt_nodes"], median_pipeline.stages["dbt_build"]),
                },
            )
        ]
        if daily:
            daily_seconds = [run.seconds("daily_load", "daily_dbt_build", "daily_publish") for run in pipelines]
            median_day = median_run(pipelines, daily_seconds)
            documents.append(
                self.document(
                    "daily",
                    engine,
                    scale_factor,
                    measured=daily_seconds,
                    reference=pipeline_seconds,
                    extra={
                        "rows_loaded": pipelines[0].details["daily_rows_loaded"],
                        "rows_quarantined": pipelines[0].details["daily_rows_quarantined"],
                        "daily_load_seconds": summary([run.stages["daily_load"] for run in pipelines]),
                        "daily_dbt_build_seconds": summary([run.stages["daily_dbt_build"] for run in pipelines]),
                        "daily_publish_seconds": summary([run.stages["daily_publish"] for run in pipelines]),
                        "peak_rss_mb": {"pipeline": max(run.peak_rss_mb for run in pipelines)},
                        **build_profile(median_day.details["daily_dbt_nodes"], median_day.stages["daily_dbt_build"]),
                    },
                )
            )
        return documents

    def kpi(self) -> list[dict]:
        landing, first_batches, _ = self.landing(KPI_SCALE_FACTOR, with_daily=False)
        self.warm_up("duckdb", landing)
        runs = []
        for run in range(1, self.runs + 1):
            spec = {"work": "pipeline", "target": "dev", "first_batches": first_batches}
            with self.fresh_warehouse("duckdb") as warehouse:
                runs.append(self.measure(spec, self.child_env("duckdb", landing, warehouse)))
            self.console.print(f"kpi run {run}: {runs[-1].stages}")
        seconds = [run.seconds("load", "dbt_build", "publish") for run in runs]
        median_kpi = median_run(runs, seconds)
        return [
            self.document(
                "kpi",
                "duckdb",
                KPI_SCALE_FACTOR,
                measured=seconds,
                reference=None,
                extra={
                    "order_lines": order_lines_of(landing / first_batches[0]),
                    "rows_loaded": runs[0].details["rows_loaded"],
                    "load_seconds": summary([run.stages["load"] for run in runs]),
                    "transform_seconds": summary([run.stages["dbt_build"] for run in runs]),
                    "publish_seconds": summary([run.stages["publish"] for run in runs]),
                    "peak_rss_mb": {"pipeline": max(run.peak_rss_mb for run in runs)},
                    **build_profile(median_kpi.details["dbt_nodes"], median_kpi.stages["dbt_build"]),
                },
            )
        ]

    def write_growth(self, engine: str, full_builds: list[dict]) -> None:
        """benchmarks/results/growth-<engine>.json: time and memory growth across scale factors."""
        if len(full_builds) < 2:
            return
        largest = max(full_builds, key=lambda doc: doc["scale_factor"])
        document = {
            "scenario": "scale",
            "engine": engine,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": largest["machine"].get("commit"),
            "steps": growth(full_builds),
            "largest": {
                "scale_factor": largest["scale_factor"],
                "peak_rss_mb": largest["peak_rss_mb"]["pipeline"],
                "under_8_gib": largest["peak_rss_mb"]["pipeline"] < SF10_MEMORY_TARGET_MB,
            },
        }
        path = self.results_dir / f"growth-{engine}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        for step in document["steps"]:
            self.console.print(
                f"{engine} SF {step['from_sf']:g} -> {step['to_sf']:g}: scale x{step['scale_factor_grew']}, "
                f"time x{step['time_grew']}, peak RSS x{step['peak_rss_grew']}"
            )

    def document(
        self,
        scenario: str,
        engine: str,
        scale_factor: float,
        measured: list[float],
        reference: list[float] | None,
        extra: dict,
    ) -> dict:
        kind, bound, wording = TARGETS.get((scenario, engine), (None, None, None))
        ratios = [run / base for run, base in zip(measured, reference, strict=True)] if reference else None
        figure = statistics.median(ratios) if kind == "ratio" and ratios else statistics.median(measured)
        document = {
            "scenario": scenario,
            "engine": engine,
            "scale_factor": scale_factor,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs": self.runs,
            "seconds": summary(measured),
            "reference_seconds": summary(reference) if reference else None,
            "ratio": summary(ratios) if ratios else None,
            "target": {
                "kind": kind,
                "bound": bound,
                "wording": wording,
                "met": None if kind is None else figure <= bound,
            },
            **extra,
            "machine": machine_facts(self.postgres_version() if engine == "postgres" else None, self.paths.project_dir),
        }
        self.results_dir.mkdir(parents=True, exist_ok=True)
        path = self.results_dir / f"{scenario}-{engine}-sf{scale_factor:g}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        self.console.print(f"Written {path.relative_to(self.paths.project_dir)}")
        return document


def steady_state_days(project_dir: Path) -> int:
    """Daily batches to load, build and publish before the measured one.

    fct_order_lines rebuilds the lines changed within its lookback window. Right after the
    initial export every line carries the export's business date, so the first
    lookback + 1 daily runs rebuild the whole fact; after that a daily run touches just
    that day's changes, as it will for the rest of the warehouse's life.

    Publication keeps the last `published_versions_kept` versions, and each one retires
    the oldest, pruning the history rows that only it showed: the rows that the
    publication after it closed (decision 0014). Publishing version N prunes the rows that
    version N - kept + 1 closed, so the measured day comes `published_versions_kept` - 1
    days after the last whole rewrite; otherwise it would prune a whole fact, which no
    steady day leaves behind. The daily scenario measures that steady state.
    """
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    whole_rewrites = int(project["vars"]["fct_order_lines_lookback_days"]) + 1
    days_until_pruned = int(project["vars"]["published_versions_kept"]) - 1
    return whole_rewrites + days_until_pruned


SF10_MEMORY_TARGET_MB = 8 * 1024


def summary(values: list[float]) -> dict:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "all": [round(value, 3) for value in values],
    }


def median_run(runs: list[Measured], seconds: list[float]) -> Measured:
    middle = sorted(range(len(runs)), key=seconds.__getitem__)[len(runs) // 2]
    return runs[middle]


def build_profile(nodes: dict[str, dict], build_seconds: float) -> dict:
    """Where a `dbt build`'s wall time went: its slowest nodes, and how many ran at once.

    The stretches where one node runs alone are the build's critical path: the other dbt
    threads wait for it, since a node waits for every test of its parents. Whether a core
    idles meanwhile depends on the engine (DuckDB runs each query on every core). The time
    outside any node is dbt's start, its partial-parse check and its artifacts.
    """
    return {
        "slowest_dbt_nodes": slowest({node: timing["seconds"] for node, timing in nodes.items()}),
        "dbt_concurrency": concurrency(
            {node: timing["span"] for node, timing in nodes.items() if timing.get("span")}, build_seconds
        ),
    }


def concurrency(spans: dict[str, list[float]], build_seconds: float, count: int = 5) -> dict:
    """Seconds with 0, 1, 2... nodes running, and the nodes that ran alone longest.

    `spans` maps each node to its [start, end] in epoch seconds. A node that took no time
    (an exposure) is left out: its end would sort before its start.
    """
    events = sorted(
        itertools.chain.from_iterable(
            ((start, 1, node), (end, -1, node)) for node, (start, end) in spans.items() if end > start
        )
    )
    running: set[str] = set()
    by_count: dict[int, float] = {}
    alone: dict[str, float] = {}
    previous = events[0][0] if events else 0.0
    for moment, change, node in events:
        elapsed = moment - previous
        by_count[len(running)] = by_count.get(len(running), 0.0) + elapsed
        if len(running) == 1:
            (only,) = running
            alone[only] = alone.get(only, 0.0) + elapsed
        (running.add if change > 0 else running.discard)(node)
        previous = moment
    span = (events[-1][0] - events[0][0]) if events else 0.0
    longest_alone = sorted(alone.items(), key=lambda item: item[1], reverse=True)[:count]
    return {
        "build_seconds": round(build_seconds, 3),
        "outside_nodes_seconds": round(build_seconds - span, 3),
        "seconds_with_nodes_running": {str(nodes): round(seconds, 3) for nodes, seconds in sorted(by_count.items())},
        "ran_alone_longest": {node: round(seconds, 3) for node, seconds in longest_alone},
    }


def slowest(nodes: dict[str, float], count: int = 12) -> dict[str, float]:
    """The slowest models and snapshots, the five slowest tests, and the tests' total node time."""
    ranked = sorted(nodes.items(), key=lambda item: item[1], reverse=True)
    tests, others = [], []
    for node, seconds in ranked:
        (tests if node.startswith(("test.", "unit_test.")) else others).append((node, seconds))
    return {
        **dict(others[:count]),
        **dict(tests[:5]),
        f"all {len(tests)} tests together": round(sum(seconds for _, seconds in tests), 3),
    }


def order_lines_of(export_dir: Path) -> int:
    manifest = json.loads((export_dir / "manifest.json").read_text())
    return next(item["rows"] for item in manifest["files"] if item["entity"] == "order_lines")


def markdown_rows(documents: list[dict]) -> list[str]:
    rows = []
    for document in documents:
        ratio = document["ratio"]
        reference = document["reference_seconds"]
        target = document["target"]
        met = {True: "yes", False: "**no**", None: ""}[target["met"]]
        rows.append(
            "| {date} | {commit} | {scenario} | {engine} | {sf:g} | {seconds} | {reference} | {ratio} "
            "| {target} | {met} | {rss:,.0f} |".format(
                date=document["measured_at"][:10],
                commit=document["machine"].get("commit") or "",
                scenario=document["scenario"],
                engine=document["engine"],
                sf=document["scale_factor"],
                seconds=f"{document['seconds']['min']:.2f} / {document['seconds']['median']:.2f}",
                reference=f"{reference['min']:.2f} / {reference['median']:.2f}" if reference else "",
                ratio=f"{ratio['min']:.3f} / {ratio['median']:.3f}" if ratio else "",
                target=target["wording"] or "growth with scale (see JSON)",
                met=met,
                rss=max(document["peak_rss_mb"].values()),
            )
        )
    return rows


RESULTS_LOG_HEADING = "### Results log (appended by `elt bench`)"
RESULTS_LOG_HEADER = (
    "| date | commit | scenario | engine | SF | seconds min / median | reference s min / median "
    "| ratio min / median | target | met | peak RSS MB |\n|---|---|---|---|---:|---:|---:|---:|---|---|---:|"
)


TARGETS_START = "<!-- targets:start (written by elt bench from results/*.json) -->"
TARGETS_END = "<!-- targets:end -->"


def _load_result(results_dir: Path, name: str) -> dict | None:
    path = results_dir / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _figures(document: dict | None, key: str) -> str:
    if not document or not document.get(key):
        return "not measured"
    figures = document[key]
    unit = "" if key == "ratio" else " s"
    runs = len(figures["all"])
    return f"{figures['min']:.2f}{unit} / {figures['median']:.2f}{unit} ({runs} run{'s' if runs > 1 else ''})"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[met]


def _measured_at(timestamp: str, commit: str | None) -> str:
    """The table's "measured at": the date, and the commit (none outside a git checkout)."""
    return f"{timestamp[:10]}, {commit or ''}"


def targets_table(results_dir: Path) -> str:
    """The issue's targets, each with the figure measured for it, from the results files."""
    rows = ["| target | measured (min / median) | met | measured at |", "|---|---|---|---|"]
    for scenario, engine, wording in (
        ("full", "duckdb", "Full build, DuckDB, SF1: pipeline <= 1.3x the hand-written reference"),
        ("full", "postgres", "Full build, PostgreSQL, SF1: pipeline <= 1.5x the hand-written reference"),
        ("daily", "duckdb", "Daily increment, DuckDB, SF1: <= 10% of the full build"),
        ("daily", "postgres", "Daily increment, PostgreSQL, SF1: <= 10% of the full build"),
    ):
        document = _load_result(results_dir, f"{scenario}-{engine}-sf1")
        met = document["target"]["met"] if document else None
        where = _measured_at(document["measured_at"], document["machine"].get("commit")) if document else ""
        rows.append(f"| {wording} | ratio {_figures(document, 'ratio')} | {_met(met)} | {where} |")
    kpi = _load_result(results_dir, f"kpi-duckdb-sf{KPI_SCALE_FACTOR:g}")
    rows.append(
        "| 1M order lines, landing files to tested marts, DuckDB, warm: < 6 s "
        f"| {_figures(kpi, 'seconds')} | {_met(kpi['target']['met'] if kpi else None)} "
        f"| {_measured_at(kpi['measured_at'], kpi['machine'].get('commit')) if kpi else ''} |"
    )
    growth_doc = _load_result(results_dir, "growth-duckdb")
    step = next(
        (item for item in (growth_doc or {}).get("steps", []) if (item["from_sf"], item["to_sf"]) == (1.0, 10.0)),
        None,
    )
    where = _measured_at(growth_doc["measured_at"], growth_doc.get("commit")) if growth_doc else ""
    if step:
        rows.append(
            f"| SF10 on DuckDB: peak memory < 8 GiB | {step['peak_rss_mb'][1]:,.0f} MB "
            f"| {_met(step['peak_rss_mb'][1] < SF10_MEMORY_TARGET_MB)} | {where} |"
        )
        rows.append(
            f"| SF1 -> SF10 on DuckDB: time grows no worse than linearly | time x{step['time_grew']} for scale "
            f"x{step['scale_factor_grew']} ({step['seconds'][0]:.1f} s -> {step['seconds'][1]:.1f} s) "
            f"| {_met(step['no_worse_than_linear'])} | {where} |"
        )
    else:
        rows.append("| SF10 on DuckDB: peak memory < 8 GiB, time no worse than linear | not measured | | |")
    return "\n".join(rows)


def write_targets(readme: Path, results_dir: Path) -> None:
    text = readme.read_text()
    if TARGETS_START not in text or TARGETS_END not in text:
        return
    head, rest = text.split(TARGETS_START, 1)
    _, tail = rest.split(TARGETS_END, 1)
    readme.write_text(f"{head}{TARGETS_START}\n{targets_table(results_dir)}\n{TARGETS_END}{tail}")


def append_to_readme(readme: Path, documents: list[dict]) -> None:
    text = readme.read_text()
    if RESULTS_LOG_HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{RESULTS_LOG_HEADING}\n\n{RESULTS_LOG_HEADER}\n"
    readme.write_text(text.rstrip("\n") + "\n" + "\n".join(markdown_rows(documents)) + "\n")
    write_targets(readme, readme.parent / "results")


def run_bench(
    paths: Paths,
    scenarios: list[str],
    engines: list[str],
    scale_factors: list[float] | None,
    runs: int,
    console: Console,
) -> list[dict]:
    bench = Bench(paths, paths.project_dir / "benchmarks" / ".data", runs, console)
    documents: list[dict] = []
    try:
        _measure(bench, scenarios, engines, scale_factors, documents)
    finally:
        # Each results file is written as soon as its scenario is measured; the README log and
        # targets table follow them even when a later run fails, so the two never disagree.
        if documents:
            append_to_readme(paths.project_dir / "benchmarks" / "README.md", documents)
    return documents


def _measure(
    bench: Bench, scenarios: list[str], engines: list[str], scale_factors: list[float] | None, documents: list[dict]
) -> None:
    """Every scenario asked for, appending each document to `documents` as it is written."""
    for engine in engines:
        chosen = [*scale_factors] if scale_factors else [1.0]
        wanted = sorted({*chosen, *SCALE_FACTORS[engine]}) if "scale" in scenarios else chosen
        if {"full", "daily", "scale"} & set(scenarios):
            for scale_factor in wanted:
                # The scale series is of full builds; the daily runs at the chosen scales only.
                # A scale point that is not also a chosen full build is written as
                # scale-<engine>-sf<SF>.json, so it never replaces a full build's figures.
                chosen_here = scale_factor in chosen and bool({"full", "daily"} & set(scenarios))
                documents += bench.full_and_daily(
                    engine,
                    scale_factor,
                    daily="daily" in scenarios and chosen_here,
                    scenario="full" if chosen_here else "scale",
                )
    if "kpi" in scenarios and "duckdb" in engines:
        documents += bench.kpi()
    if "scale" in scenarios:
        for engine in engines:
            full_builds = [doc for doc in documents if doc["scenario"] in ("full", "scale") and doc["engine"] == engine]
            bench.write_growth(engine, full_builds)


def growth(full_builds: list[dict]) -> list[dict]:
    """Between successive scale factors: how much more time and memory the full build took.

    A time factor at or below the scale factor is linear or better."""
    ordered = sorted(full_builds, key=lambda doc: doc["scale_factor"])
    steps = []
    for smaller, larger in itertools.pairwise(ordered):
        scale = larger["scale_factor"] / smaller["scale_factor"]
        time = larger["seconds"]["median"] / smaller["seconds"]["median"]
        memory = larger["peak_rss_mb"]["pipeline"] / smaller["peak_rss_mb"]["pipeline"]
        steps.append(
            {
                "from_sf": smaller["scale_factor"],
                "to_sf": larger["scale_factor"],
                "scale_factor_grew": round(scale, 2),
                "time_grew": round(time, 2),
                "peak_rss_grew": round(memory, 2),
                "no_worse_than_linear": time <= scale,
                "seconds": [smaller["seconds"]["median"], larger["seconds"]["median"]],
                "peak_rss_mb": [smaller["peak_rss_mb"]["pipeline"], larger["peak_rss_mb"]["pipeline"]],
            }
        )
    return steps
