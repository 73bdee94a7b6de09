"""dbt, invoked in-process: one interpreter and one parsed manifest for all of a command's dbt steps."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elt.errors import EltError
from elt.faults import KILL_AT_VARIABLE, PAUSE_AT_VARIABLE, dbt_fault_callbacks, fault_point

# What the fault_point macro logs; the callback below turns it into elt's fault point.
FAULT_POINT_LOG_PREFIX = "elt fault point: "

# dbt's own log, a line per node as it runs, streams to the terminal only when this is set
# (`elt run --verbose` sets it); it always goes to logs/dbt.log. Otherwise elt shows each
# stage's progress and a summary, what macros log for the reader, and dbt's errors.
VERBOSE_VARIABLE = "ELT_VERBOSE"

# What run_results.json says of a node that failed (an error, a failed test).
FAILED_STATUSES = ("error", "fail", "runtime error")

# The last `dbt build`'s run_results.json, kept beside dbt's own in the target directory.
BUILD_RESULTS = "build_run_results.json"

# The tag of a data test that passes whenever its parents' tests pass, unless the model's
# SQL changes: a view that filters one tested table, or joins a tested table to another
# on that other's tested key (decision 0021).
IMPLIED_TESTS_TAG = "implied_by_parent_tests"

# What the scheduled job adds to `dbt build`. Unit tests (decision 0018) and the tests
# tagged IMPLIED_TESTS_TAG check the models' SQL, which a day's data cannot change: they
# run in CI (`make test`, `make sql-tests`, `elt ci-slim`) and in a developer's own `dbt
# build`, not in every production build.
PRODUCTION_BUILD_ARGS = ("--exclude-resource-type", "unit_test", "--exclude", f"tag:{IMPLIED_TESTS_TAG}")

# What selects those tests, for `dbt test` on a built warehouse.
SQL_TESTS_SELECTION = ("--select", "test_type:unit", f"tag:{IMPLIED_TESTS_TAG}")


@dataclass(frozen=True)
class NodeNote:
    """A node that warned or failed, as the summary tells it: its name, rows and what it checks."""

    status: str
    name: str
    failures: int | None
    description: str

    def headline(self) -> str:
        rows = f", {self.failures:,} row{'s' if self.failures != 1 else ''}" if self.failures else ""
        return f"{self.status}{rows}:"


@dataclass(frozen=True)
class DbtSummary:
    command: str
    passed: int
    failed: int
    skipped: int
    warned: int
    seconds: float
    notes: tuple[NodeNote, ...] = ()

    def line(self) -> str:
        counts = f"{self.passed} passed, {self.warned} warned, {self.failed} failed, {self.skipped} skipped"
        return f"dbt {self.command.split()[0]}: {counts}, in {self.seconds:.1f}s"


def _summarise(command: str, run_results_path: Path) -> DbtSummary:
    if not run_results_path.is_file():
        return DbtSummary(command, 0, 0, 0, 0, 0.0)
    document = json.loads(run_results_path.read_text())
    results = document.get("results", [])
    statuses = [result["status"] for result in results]
    noted = [result for result in results if result["status"] == "warn" or result["status"] in FAILED_STATUSES]
    return DbtSummary(
        command=command,
        passed=sum(status in ("success", "pass") for status in statuses),
        failed=sum(status in FAILED_STATUSES for status in statuses),
        skipped=sum(status == "skipped" for status in statuses),
        warned=sum(status == "warn" for status in statuses),
        seconds=float(document.get("elapsed_time", 0.0)),
        notes=tuple(_notes(noted, run_results_path.with_name("manifest.json"))),
    )


def _notes(results: list[dict], manifest_path: Path) -> list[NodeNote]:
    """What each warned or failed node is, from the manifest: a test's description says what it checks."""
    if not results:
        return []
    nodes = json.loads(manifest_path.read_text()).get("nodes", {}) if manifest_path.is_file() else {}
    notes = []
    for result in results:
        node = nodes.get(result["unique_id"], {})
        status = {"warn": "warned", "fail": "failed"}.get(result["status"], result["status"])
        description = " ".join((node.get("description") or "").split())
        notes.append(NodeNote(status, node.get("name", result["unique_id"]), result.get("failures"), description))
    return notes


def dbt_log_streams() -> bool:
    return os.environ.get(VERBOSE_VARIABLE, "").lower() in ("1", "true", "yes")


def dbt_target_dir(project_dir: Path) -> Path:
    return Path(project_dir) / os.environ.get("DBT_TARGET_PATH", "target")


def run_dbt(
    project_dir: Path,
    target: str,
    *args: str,
    keep_results_as: str | None = None,
    macro_log: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DbtSummary:
    """Run one dbt command against `target`; raises EltError with where to look when it fails.

    dbt overwrites run_results.json with every command, so `keep_results_as` saves a copy
    (the build's results outlive the docs generation that follows it). `macro_log`
    collects what macros log with info=true (an operation's outcome, a refusal).
    `progress` is told "<done> of <total> nodes" as dbt finishes each one.
    Unless VERBOSE_VARIABLE is set, dbt runs --quiet: its errors and what macros log with
    info=true still show, its line per node goes only to logs/dbt.log.
    """
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    connection = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target", target]
    quiet = not dbt_log_streams() and "--quiet" not in args
    command = ["--quiet", *args, *connection] if quiet else [*args, *connection]
    callbacks: list[Callable] = [_fault_points_in_macros] if _fault_points_armed() else []
    if quiet:
        callbacks.append(_echo_macro_info)
    if progress is not None:
        callbacks.append(_count_nodes(progress))
    if macro_log is not None:
        callbacks.append(_collect_macro_log(macro_log))
    lock_conflicts: list[re.Match] = []
    callbacks.append(functools.partial(_note_lock_conflict, lock_conflicts))
    parse_arguments = _parse_arguments(args)
    manifest = None if args[0] == "parse" else _parsed_manifest(connection, parse_arguments)
    result = dbtRunner(manifest=manifest, callbacks=[*callbacks, *dbt_fault_callbacks()]).invoke(command)
    if args[0] == "parse" and result.success:
        _MANIFESTS[_manifest_key(connection, parse_arguments)] = result.result
    run_results = dbt_target_dir(project_dir) / "run_results.json"
    summary = _summarise(" ".join(args), run_results)
    if keep_results_as and run_results.is_file():
        shutil.copyfile(run_results, run_results.with_name(keep_results_as))
    if not result.success:
        reason = f": {result.exception}" if result.exception else ""
        first = _first_failure(result)
        if lock_conflicts:
            # Not "1 node(s) failed": nothing in the project failed, another process has the file.
            file, program, pid = lock_conflicts[0].groups()
            raise EltError(
                f"`dbt {' '.join(args)}` could not open {file}: another process holds its lock ({program}, "
                f"PID {pid}), and DuckDB lets one process at a time write a file. Let that process finish "
                "(or close it, if it is a dbt or DuckDB session of yours), then run again."
            )
        if result.exception is not None and not first and not summary.failed:
            # dbt stopped before running nodes (a YAML or Jinja error, say): "0 node(s) failed"
            # would send the reader to node output that does not exist.
            raise EltError(
                f"`dbt {' '.join(args)}` failed on target {target} before running any node{reason}. "
                "Fix what it names (`dbt parse` reports the same), then run again."
            )
        raise EltError(
            f"`dbt {' '.join(args)}` failed on target {target}{reason}. "
            f"{summary.failed} node(s) failed{f', the first {first}' if first else ''}; dbt's errors above "
            "name them, and target/run_results.json and logs/dbt.log have the details "
            "(`elt run --verbose` shows dbt's whole log as it runs)."
        )
    return summary


# The manifest each project, target and --vars parsed to, for the later dbt steps of the same
# command: `elt run`'s build, publish and docs read one parse, not three (decision 0027).
_MANIFESTS: dict[tuple[str, ...], object] = {}
PARSE_ENV_PREFIXES = ("DBT_", "ELT_", "WAREHOUSE_", "PG")


def _parse_arguments(args: tuple[str, ...]) -> list[str]:
    """The arguments of a dbt command that change what the project parses to: --vars."""
    return [*args[args.index("--vars") : args.index("--vars") + 2]] if "--vars" in args else []


def _manifest_key(connection: list[str], parse_arguments: list[str]) -> tuple[str, ...]:
    # The environment too: the project's YAML and the profile read env_var().
    environment = sorted(f"{key}={value}" for key, value in os.environ.items() if key.startswith(PARSE_ENV_PREFIXES))
    return (*connection, *parse_arguments, *environment)


def forget_parsed_manifests() -> None:
    """The next dbt step parses again, as the first step of a new `elt` process would."""
    _MANIFESTS.clear()


def _parsed_manifest(connection: list[str], parse_arguments: list[str]) -> object | None:
    """The manifest a `dbt parse` with these arguments gives, parsed once per process.

    None when the parse fails: the command then parses for itself, and its failure says why
    in the command's own words (a build that cannot parse is a failed build)."""
    from dbt.cli.main import dbtRunner

    key = _manifest_key(connection, parse_arguments)
    if key not in _MANIFESTS:
        parsed = dbtRunner().invoke(["parse", "--quiet", *parse_arguments, *connection])
        if not parsed.success:
            return None
        _MANIFESTS[key] = parsed.result
    return _MANIFESTS[key]


# DuckDB's error when another process has the database file open (it names that process).
_DUCKDB_LOCK_CONFLICT = re.compile(
    r'Could not set lock on file "([^"]+)": Conflicting lock is held in (.+?) \(PID (\d+)\)'
)


def _note_lock_conflict(conflicts: list[re.Match], event) -> None:
    """Keep DuckDB's lock conflict from dbt's error events: a run-operation's result has no message."""
    if event.info.level == "error" and (found := _DUCKDB_LOCK_CONFLICT.search(event.info.msg)):
        conflicts.append(found)


def _first_failure(result) -> str:
    """'<node>: <dbt's message>' of the invocation's first failed node, so the error says why without the log.

    Read from the invocation's own results, not run_results.json, which an invocation that
    failed before running any node leaves as the previous command wrote it."""
    for node_result in getattr(result.result, "results", None) or []:
        if node_result.status in FAILED_STATUSES:
            message = " ".join(str(node_result.message or "").split())
            # A run-operation's result names no node; its message is the error itself.
            node = getattr(node_result, "node", None)
            return f"{node.unique_id}: {message[:300]}" if node is not None else message[:300]
    return ""


def _fault_points_armed() -> bool:
    return bool(os.environ.get(KILL_AT_VARIABLE) or os.environ.get(PAUSE_AT_VARIABLE))


def _fault_points_in_macros(event) -> None:
    """The fault_point macro logs its name; act on it here, inside dbt's open transaction."""
    if event.info.name in ("JinjaLogDebug", "JinjaLogInfo") and event.data.msg.startswith(FAULT_POINT_LOG_PREFIX):
        fault_point(event.data.msg.removeprefix(FAULT_POINT_LOG_PREFIX))


def _echo_macro_info(event) -> None:
    """What a macro logs with info=true is for the reader (a publication's outcome): shown even when dbt is quiet."""
    if event.info.name == "JinjaLogInfo" and not event.data.msg.startswith(FAULT_POINT_LOG_PREFIX):
        print(event.data.msg, flush=True)


def _count_nodes(progress: Callable[[str], None]) -> Callable:
    counted = {"done": 0, "total": 0}

    def count(event) -> None:
        if event.info.name == "LogStartLine":
            counted["total"] = max(counted["total"], int(event.data.total))
        elif event.info.name == "NodeFinished":
            counted["done"] += 1
            if counted["total"]:
                progress(f"{min(counted['done'], counted['total'])} of {counted['total']} nodes")

    return count


def _collect_macro_log(lines: list[str]) -> Callable:
    def collect(event) -> None:
        if event.info.name == "JinjaLogInfo":
            lines.append(" ".join(event.data.msg.split()))

    return collect


# The first words of publish_marts' outcomes (macros/publication/publish_marts.sql).
PUBLISH_OUTCOMES = ("Published version", "Not published")
PUBLISH_REFUSAL = "cannot publish"


def publish_marts(project_dir: Path, target: str, release_hold: bool = False, inputs: str | None = None) -> str:
    """Publish the marts as audited in marts_build: a new version, made live in one transaction.

    Returns the operation's outcome: the version published, or why none was (on hold after a
    rollback until a publish with `release_hold`; nothing changed since the live version: the
    same builds, or a build from the same `inputs`, which `elt run` passes: elt.run.build_inputs).
    Marts whose tests have not passed on their current build are refused with an EltError
    that names them (decision 0023)."""
    options = {key: value for key, value in (("release_hold", release_hold), ("inputs", inputs)) if value}
    args = ["--args", json.dumps(options)] if options else []
    logged: list[str] = []
    try:
        run_dbt(project_dir, target, "run-operation", "publish_marts", *args, macro_log=logged)
    except EltError as error:
        refusal = next((line for line in logged if line.startswith(PUBLISH_REFUSAL)), None)
        if refusal is None:
            raise
        raise EltError(refusal) from error
    return next((line for line in reversed(logged) if line.startswith(PUBLISH_OUTCOMES)), "")


def rollback_marts(project_dir: Path, target: str, version: int | None = None) -> None:
    args = ["run-operation", "rollback_marts"]
    if version is not None:
        args += ["--args", json.dumps({"version": version})]
    run_dbt(project_dir, target, *args)
