"""The `elt` command line: generate, load, run and inspect the wholesale warehouse."""

from __future__ import annotations

import functools
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from elt.errors import EltError
from elt.generate.dirty import REPORT_NAME, Injection, read_report
from elt.generate.export import generate_all
from elt.generate.manifest import read_manifest
from elt.load.loader import (
    BatchResult,
    LoadError,
    business_date_of,
    load_pending,
    open_warehouse,
    pending_batch_dirs,
    replacements,
    source_of,
)
from elt.locking import reading_warehouse, warehouse_lock
from elt.run import ensure_local_postgres, run_pipeline
from elt.settings import Paths
from elt.slim import build_modified

app = typer.Typer(
    help=(
        "ELT for the wholesale analytics warehouse. Lands ERP extracts in landing/, loads them "
        "into raw.* exactly once, and builds the dbt project on DuckDB (target dev, the default) "
        "or PostgreSQL (targets pg and prod)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
error_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., object])

TargetOption = Annotated[
    str,
    typer.Option(
        "--target",
        "-t",
        help="dbt target from profiles.yml: dev (DuckDB file), pg (local PostgreSQL), prod (PostgreSQL from env vars).",
        envvar="DBT_TARGET",
    ),
]
DaysOption = Annotated[
    int,
    typer.Option("--days", "-d", min=0, help="Daily change batches to land after the export.", envvar="ELT_DAYS"),
]
SeedOption = Annotated[
    int, typer.Option("--seed", help="Seed of the daily change simulator: same seed, same bytes.", envvar="ELT_SEED")
]
DirtyOption = Annotated[
    bool,
    typer.Option(
        "--dirty",
        help="Inject the faults of a real feed into the daily batches (bad rows, drift, broken deliveries); "
        "what went where is written to landing/dirty-report.json.",
        envvar="ELT_DIRTY",
    ),
]
ScaleFactorOption = Annotated[
    float,
    typer.Option(
        "--scale-factor",
        "-s",
        min=0.001,
        help="TPC-H scale factor of the initial export: 0.01 = 60k order lines, 0.1 = 600k, 1 = 6M.",
        envvar="ELT_SCALE_FACTOR",
    ),
]

VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Stream dbt's own log, a line per model and test, as it runs (it always goes to logs/dbt.log).",
    ),
]


def _stream_dbt_log(verbose: bool) -> None:
    """--verbose: dbt's log to the terminal for this command (elt.dbt reads the variable)."""
    from elt.dbt import VERBOSE_VARIABLE

    if verbose:
        os.environ[VERBOSE_VARIABLE] = "1"


def reports_errors(command: F) -> F:
    """Expected failures print one clear message and exit 1, without a stack trace."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EltError as error:
            error_console.print(f"[bold red]error:[/] {error}")
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _prepare_target(target: str, paths: Paths) -> None:
    if target == "pg":
        ensure_local_postgres(paths, console)


def changes_warehouse(command: F) -> F:
    """The command holds the warehouse lock from start to end; refused at once if another holds it (0025)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        paths = Paths.resolve()
        _prepare_target(kwargs["target"], paths)
        with warehouse_lock(kwargs["target"], paths):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def reads_warehouse(command: F) -> F:
    """The command changes nothing and never waits for the warehouse lock (elt.locking.reading_warehouse)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        paths = Paths.resolve()
        _prepare_target(kwargs["target"], paths)
        with reading_warehouse(kwargs["target"], paths) as holder:
            if holder:
                console.print(f"[yellow]{holder} holds the warehouse lock[/]: what follows may change when it ends.")
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _shown_path(path: Path, paths: Paths) -> str:
    """A path relative to the project when it is inside it (shorter on a terminal), else in full."""
    return str(path.relative_to(paths.project_dir)) if path.is_relative_to(paths.project_dir) else str(path)


def compact_table(title: str) -> Table:
    """A table for a terminal of 80 columns or a pipe: light rules, and cells that wrap rather than end in '…'."""
    # No rules or edges: a column's only cost is its widest cell and one space either side.
    return Table(title=title, box=None, pad_edge=False, title_justify="left", header_style="bold underline")


def print_item(text: str) -> None:
    """One item of a list, wrapped to the terminal (80 columns when piped) under its own indent."""
    width = max(40, console.width)
    console.print(textwrap.fill(text, width, initial_indent="  ", subsequent_indent="      "), highlight=False)


def _batch_table(results: list[BatchResult]) -> Table:
    # A batch id begins with its business date (docs/decisions/0001), so the date needs no
    # column of its own, and the table fits 80 columns with every number whole.
    table = compact_table("Batches")
    # Widest cells: a batch id of 26 characters, "carrier", "superseded", "866,602" rows: 78 columns.
    for column in ("batch", "source", "status"):
        table.add_column(column, no_wrap=True)
    for column in ("loaded", "quarantined", "seconds"):
        table.add_column(column, justify="right", no_wrap=True)
    for result in results:
        table.add_row(
            result.batch_id,
            result.source or "?",
            result.status,
            f"{result.rows_loaded:,}",
            f"{result.rows_quarantined:,}",
            f"{result.seconds:.1f}",
        )
    return table


def _print_batches(results: list[BatchResult]) -> None:
    if results:
        console.print(_batch_table(results))
    for result in results:
        if result.detail:
            console.print(f"{result.batch_id}: {result.detail}")


@app.command()
@reports_errors
def generate(
    scale_factor: ScaleFactorOption = 0.1, days: DaysOption = 0, seed: SeedOption = 1, dirty: DirtyOption = False
) -> None:
    """Land the ERP's export and N daily change batches, and finance's and the carrier's deliveries, those missing."""
    paths = Paths.resolve()
    with console.status(f"Generating the export at scale factor {scale_factor:g} and {days} day(s)"):
        landed = generate_all(paths.landing_dir, scale_factor, days, seed, dirty)
    table = compact_table(f"Landed in {paths.landing_dir}")
    table.add_column("batch", no_wrap=True)
    table.add_column("source")
    table.add_column("business date")
    table.add_column("state")
    table.add_column("rows", justify="right")
    for manifest, generated in landed:
        state = "generated" if generated else "already landed"
        rows = sum(item.rows for item in manifest.files)
        table.add_row(manifest.batch_id, manifest.source, str(manifest.business_date), state, f"{rows:,}")
    console.print(table)
    if dirty:
        _print_injections(read_report(paths.landing_dir))


def _print_injections(injections: list[Injection]) -> None:
    table = compact_table(f"Faults injected, in detail in landing/{REPORT_NAME}")
    for column in ("fault", "entity", "batches", "rows", "the loader must"):
        table.add_column(column, justify="right" if column in ("batches", "rows") else "left")
    kinds: dict[tuple[str, str, str], list[Injection]] = {}
    for item in injections:
        kinds.setdefault((item.kind, item.entity or "", item.expected), []).append(item)
    for (kind, entity, expected), items in sorted(kinds.items()):
        rows = sum(len(item.source_rows) for item in items)
        table.add_row(kind, entity, str(len(items)), f"{rows:,}" if rows else "", expected)
    console.print(table)


@app.command()
@reports_errors
def land(
    source: Annotated[str, typer.Argument(help="The source that delivered the files, as its contract names it.")],
    path: Annotated[Path, typer.Argument(help="A file, or a directory of files named <entity>.<extension>.")],
    business_date: Annotated[
        str | None,
        typer.Option("--business-date", help="The day the files describe, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
    entity: Annotated[str | None, typer.Option(help="The entity of a single file whose name is not its own.")] = None,
    replaces: Annotated[
        str | None, typer.Option(help="The batch id of a broken delivery of this source that these files correct.")
    ] = None,
) -> None:
    """Land files a source delivered as a batch in landing/<batch_id>/, with the manifest the loader checks."""
    from datetime import UTC, date, datetime

    from elt.land import land_files

    try:
        day = date.fromisoformat(business_date) if business_date else datetime.now(UTC).date()
    except ValueError:
        raise EltError(f"--business-date {business_date!r} is not a date; write it as YYYY-MM-DD.") from None
    paths = Paths.resolve()
    manifest = land_files(paths.landing_dir, source, path, day, entity, replaces)
    files = ", ".join(f"{item.path} ({item.rows:,} rows)" for item in manifest.files)
    console.print(
        f"Landed batch [bold]{manifest.batch_id}[/] of source {manifest.source} in {paths.landing_dir}: {files}. "
        "`elt load` or `elt run` loads it."
    )


@app.command()
@reports_errors
@changes_warehouse
def load(
    target: TargetOption = "dev",
    batch: Annotated[str | None, typer.Option(help="Load only this batch id (default: every pending batch).")] = None,
) -> None:
    """Load pending landed batches into raw.<source>_* (good rows) and audit.quarantine (bad rows), once each."""
    paths = Paths.resolve()
    _prepare_target(target, paths)
    try:
        with console.status("Loading") as progress:
            results = load_pending(target, paths, only_batch=batch, report=progress.update)
    except LoadError as error:
        _print_batches(error.results)  # what did load, the other sources' batches among them
        raise
    if not results:
        console.print(f"No landed batches in {paths.landing_dir}; run `elt generate` first.")
        return
    _print_batches(results)


@app.command()
@reports_errors
@changes_warehouse
def run(
    target: TargetOption = "dev",
    scale_factor: ScaleFactorOption = 0.1,
    days: DaysOption = 0,
    seed: SeedOption = 1,
    dirty: DirtyOption = False,
    docs: Annotated[
        bool,
        typer.Option(
            "--docs/--no-docs",
            envvar="ELT_RUN_DOCS",
            help="End with `dbt docs generate` (the docs site and its catalog); --no-docs for runs between "
            "the ones that refresh the site, since it takes about as long as the build.",
        ),
    ] = True,
    verbose: VerboseOption = False,
) -> None:
    """The whole job: generate what is missing, load pending batches, one dbt build, publish, dbt docs."""
    _stream_dbt_log(verbose)
    paths = Paths.resolve()
    _prepare_target(target, paths)
    summary = run_pipeline(target, paths, scale_factor, days, seed, console, dirty, docs)
    _print_batches(summary.batches)
    for item in summary.builds:
        console.print(item.line(), highlight=False)
        # Each test that warned or failed, and what it checks (its description in the YAML).
        for note in item.notes:
            console.print(f"  {note.headline()}", highlight=False, markup=False)
            width = max(40, console.width - 4)
            for text in (note.name, note.description):
                if text:
                    console.print(textwrap.indent(textwrap.fill(text, width), "    "), highlight=False, markup=False)
    stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in summary.stage_seconds.items())
    console.print(f"[bold green]Done[/] on target {target}: {stages}.")
    if docs:
        console.print("Docs site: target/static_index.html (one file), or `make docs` to serve it.")
    if summary.dashboards is not None:
        console.print(f"Dashboards: {_shown_path(summary.dashboards, paths)}")


@app.command("ci-slim")
@reports_errors
def ci_slim(target: TargetOption = "dev") -> None:
    """Build only what changed since the last good build (state:modified+), deferring the rest to it."""
    paths = Paths.resolve()
    _prepare_target(target, paths)
    slim = build_modified(paths, target)
    models = [node for node in slim.built if node.startswith(("model.", "seed.", "snapshot."))]
    tests = sum(node.startswith(("test.", "unit_test.")) for node in slim.built)
    console.print(f"Built {len(models)} changed or downstream node(s) in ci_* schemas, and ran {tests} test(s):")
    for node in models:
        console.print(f"  {node}")
    if not slim.built:
        console.print(f"Nothing differs from the state in {paths.state_dir}.")


@app.command()
@reports_errors
def bench(
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="full, daily, kpi or scale; repeat for several (default: full, daily, kpi)."),
    ] = None,
    engine: Annotated[
        list[str] | None, typer.Option(help="duckdb or postgres; repeat for both (default: both).")
    ] = None,
    scale_factor: Annotated[
        list[float] | None, typer.Option("--scale-factor", "-s", help="Scale factors of full/daily (default: 1).")
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Runs of each measurement; min and median are reported.")] = 3,
) -> None:
    """Time the pipeline against hand-written SQL; write benchmarks/results/*.json and the README table."""
    from elt.bench.harness import ENGINES, markdown_rows, run_bench

    scenarios = scenario or ["full", "daily", "kpi"]
    engines = engine or list(ENGINES)
    unknown = [name for name in scenarios if name not in ("full", "daily", "kpi", "scale")]
    unknown += [name for name in engines if name not in ENGINES]
    if unknown:
        raise EltError(
            f"unknown scenario or engine {unknown}; scenarios: full, daily, kpi, scale; engines: duckdb, postgres."
        )
    documents = run_bench(Paths.resolve(), scenarios, engines, scale_factor, runs, console)
    console.print("\n".join(markdown_rows(documents)))


LEDGER_BY_BATCH = """
    select batch_id, min(business_date), sum(rows_in), sum(rows_loaded), sum(rows_quarantined), max(finished_at),
        max(source)
    from audit.load_batches
    group by batch_id
    order by batch_id
"""


@app.command()
@reports_errors
@reads_warehouse
def status(target: TargetOption = "dev") -> None:
    """Batches (loaded, pending, failed and why, superseded), the live marts version, recent runs, freshness."""
    paths = Paths.resolve()
    _prepare_target(target, paths)
    with open_warehouse(target, paths, reads_only=True) as warehouse:
        loaded = {row[0]: row for row in warehouse.query(LEDGER_BY_BATCH)}
        loaded_content = warehouse.loaded_batches()
        failures = dict(warehouse.query(LAST_FAILURES))
    batch_dirs = pending_batch_dirs(paths, None)
    replaced_by = replacements(batch_dirs)
    # A line per batch rather than a table: the states and reasons are sentences, which a
    # terminal of 80 columns, or a pipe, shows whole.
    console.print(f"[bold]Batches on target {target}[/] (business date and source after each):")
    for batch_id in sorted({path.name for path in batch_dirs} | loaded.keys()):
        if batch_id in loaded:
            _, business_date, rows_in, rows_loaded, rows_quarantined, finished_at, source = loaded[batch_id]
            print_item(
                f"{batch_id} ({source}, {business_date}): loaded {finished_at:%Y-%m-%d %H:%M} UTC, "
                f"{rows_in:,} rows in, {rows_loaded:,} loaded, {rows_quarantined:,} quarantined"
            )
            continue
        batch_dir = paths.landing_dir / batch_id
        state = _unloaded_state(batch_dir, replaced_by, loaded_content, failures)
        source, business_date = source_of(batch_dir) or "?", business_date_of(batch_dir) or "?"
        print_item(f"{batch_id} ({source}, {business_date}): {state}")
    _print_publication_and_runs(target, paths)


LAST_FAILURES = """
    select failures.batch_id, max(failures.error)
    from audit.load_failures as failures
    inner join (
        select batch_id, max(failed_at) as failed_at from audit.load_failures group by batch_id
    ) as newest on failures.batch_id = newest.batch_id and failures.failed_at = newest.failed_at
    group by failures.batch_id
"""


def _unloaded_state(
    batch_dir: Path, replaced_by: dict[str, str], loaded_content: dict[str, str], failures: dict[str, str]
) -> str:
    replacement = replaced_by.get(batch_dir.name)
    if replacement in loaded_content.values():
        return f"superseded by {replacement}"
    try:
        content = read_manifest(batch_dir).content_sha256
    except EltError as error:
        return f"[red]unreadable manifest[/]: {error}"
    if content in loaded_content:
        return f"duplicate of {loaded_content[content]}"
    if batch_dir.name in failures:
        return f"[red]failed[/]: {failures[batch_dir.name][:200]}"
    return "pending"


def _print_publication_and_runs(target: str, paths: Paths) -> None:
    from elt.status import freshness_lines, published_versions, recent_runs

    with open_warehouse(target, paths, reads_only=True) as warehouse:
        versions = published_versions(warehouse)
        runs = recent_runs(warehouse)
        freshness = freshness_lines(warehouse, paths.project_dir)
    live = [row for row in versions if row[2] == "live"]
    if live:
        console.print(
            f"[bold]Live marts version: {live[0][0]}[/] ({live[0][1]}, published {live[0][3]:%Y-%m-%d %H:%M} UTC)"
        )
    else:
        console.print("[yellow]No marts version is published yet[/]: consumers see nothing until a green `elt run`.")
    if versions:
        table = compact_table("Published versions (elt rollback re-points to a kept one)")
        for column in ("version", "schema", "status", "published (UTC)", "status since (UTC)"):
            table.add_column(column)
        for version, schema_name, state, published_at, changed_at in versions:
            table.add_row(
                str(version), schema_name, state, f"{published_at:%Y-%m-%d %H:%M}", f"{changed_at:%Y-%m-%d %H:%M}"
            )
        console.print(table)
    if runs:
        console.print("[bold]Recent runs[/] (audit.run_history):")
        for started, state, seconds, batches, rows_in, quarantined, completeness, tests_failed, version, error in runs:
            published = f"published version {version}" if version else "nothing published"
            complete = f" ({completeness} complete)" if completeness else ""
            print_item(
                f"{started} UTC: {state} in {seconds} s; batches: {batches}; {rows_in} rows in, "
                f"{quarantined} quarantined{complete}; {tests_failed} test(s) failed; {published}"
                + (f"; error: {escape(error)}" if error else "")
            )
    if freshness:
        console.print("[bold]Freshness[/] (each source against its contract):")
    for line in freshness:
        print_item(line)


@app.command()
@reports_errors
@changes_warehouse
def replay(
    from_date: Annotated[
        str, typer.Option("--from-date", help="Unload every batch of this business date (YYYY-MM-DD) and later.")
    ],
    target: TargetOption = "dev",
    source: Annotated[
        str | None,
        typer.Option(help="Unload only this source's batches (default: every source's), e.g. --source erp."),
    ] = None,
) -> None:
    """Reprocess or backfill: unload the batches from a business date on, so `elt run` loads them again in order."""
    from datetime import date

    from elt.replay import replay_from

    try:
        day = date.fromisoformat(from_date)
    except ValueError:
        raise EltError(f"--from-date {from_date!r} is not a date; write it as YYYY-MM-DD.") from None
    paths = Paths.resolve()
    _prepare_target(target, paths)
    unloaded = replay_from(target, paths, day, source)
    whose = f" of source {source}" if source else ""
    console.print(
        f"Unloaded {len(unloaded)} batch(es){whose} from {day} on: {', '.join(unloaded) or 'none left'}; the next "
        f"build derives their history again from raw. Land any corrected or missing batch in {paths.landing_dir}, "
        "then run "
        f"`elt run --target {target}`: it loads them in business-date order, and its first build is a full refresh. "
        "Consumers keep the published version until then."
    )


@app.command()
@reports_errors
@changes_warehouse
def rollback(
    target: TargetOption = "dev",
    to_version: Annotated[
        int | None, typer.Option("--to-version", help="The kept version to make live (default: the one before).")
    ] = None,
) -> None:
    """Re-point the consumer views in `marts` to an earlier published version, in one transaction."""
    from elt.dbt import rollback_marts

    paths = Paths.resolve()
    _prepare_target(target, paths)
    rollback_marts(paths.project_dir, target, to_version)
    _print_publication_and_runs(target, paths)
    _redraw_dashboards_after("rollback", target, paths)


@app.command()
@reports_errors
@changes_warehouse
def publish(target: TargetOption = "dev") -> None:
    """Publish marts_build on purpose (ends the hold after a rollback), if every mart's tests passed on its build."""
    from elt.dbt import publish_marts

    paths = Paths.resolve()
    _prepare_target(target, paths)
    # The warehouse says whether each mart's tests passed on the build it holds, whoever
    # built it (decision 0023), not the last `elt` build's results file.
    outcome = publish_marts(paths.project_dir, target, release_hold=True)
    if outcome:
        console.print(outcome)
    _print_publication_and_runs(target, paths)
    _redraw_dashboards_after("publication", target, paths)


@app.command()
@reports_errors
@reads_warehouse
def dashboards(target: TargetOption = "dev") -> None:
    """Draw the stakeholder dashboards from the live published marts (`elt run` does it after publishing)."""
    paths = Paths.resolve()
    _prepare_target(target, paths)
    if _redraw_dashboards(target, paths) is None:
        raise EltError("nothing is published yet, so there is nothing to draw: run `elt run` first.")


def _redraw_dashboards(target: str, paths: Paths) -> Path | None:
    """The dashboards show what is live: drawn again after anything that changes it."""
    from elt.dashboards import build_dashboards

    index = build_dashboards(target, paths)
    if index is not None:
        console.print(f"Dashboards: {_shown_path(index, paths)}")
    return index


def _redraw_dashboards_after(change: str, target: str, paths: Paths) -> None:
    """After a publish or rollback, which stands whatever happens here: a failed drawing is a warning."""
    import duckdb
    import psycopg

    try:
        _redraw_dashboards(target, paths)
    except (EltError, duckdb.Error, psycopg.Error, OSError) as error:
        console.print(
            f"[yellow]warning:[/] the {change} is done, but the dashboards were not drawn again ({error}); "
            f"`elt dashboards --target {target}` draws them."
        )


@app.command("setup-roles")
@reports_errors
@changes_warehouse
def setup_roles(target: TargetOption = "pg") -> None:
    """PostgreSQL only, as an administrator: create the loader, transformer, reporter and reporter_pii roles."""
    from elt.dbt import run_dbt

    paths = Paths.resolve()
    _prepare_target(target, paths)
    run_dbt(paths.project_dir, target, "run-operation", "create_warehouse_roles")
    console.print(
        "Roles loader, transformer, reporter and reporter_pii are set up; docs/security.md says how to grant them."
    )


@app.command()
@reports_errors
def check(
    project_dir: Annotated[
        Path | None, typer.Option(help="The dbt project to check (default: the one `elt` runs in).")
    ] = None,
) -> None:
    """Check the project's conventions over dbt's manifest (dbt-bouncer.yml and our own); needs no warehouse."""
    from elt.check import check_project  # dbt-bouncer is a dev dependency: only this command needs it

    result = check_project(project_dir or Paths.resolve().project_dir, console)
    console.print(f"[bold green]All {result.checks_run} project checks passed[/] in {result.seconds:.1f}s.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
