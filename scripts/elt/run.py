"""`elt run`: generate what is missing, load every pending batch, build after each, then docs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from rich.console import Console

from elt import local_pg
from elt.dbt import BUILD_RESULTS, DbtSummary, run_dbt
from elt.generate.export import generate_all
from elt.generate.manifest import Manifest
from elt.load.loader import BatchResult, load_pending
from elt.locking import exclusive_run
from elt.settings import Paths
from elt.slim import save_state


@dataclass
class RunSummary:
    landed: list[tuple[Manifest, bool]] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)
    builds: list[DbtSummary] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)


def ensure_local_postgres(paths: Paths, console: Console) -> None:
    """For the `pg` target with no server named in PGHOST, start the project's own local one."""
    if os.environ.get("PGHOST"):
        return
    data_dir = paths.project_dir / ".local-pg"
    console.print(f"Using the local PostgreSQL in {data_dir} (started if needed; it keeps running, see README).")
    server = local_pg.start(data_dir, keep_running=True)
    os.environ.update(local_pg.connection_env(server))


def run_pipeline(
    target: str, paths: Paths, scale_factor: float, days: int, seed: int, console: Console, dirty: bool = False
) -> RunSummary:
    summary = RunSummary()
    # One run at a time per warehouse: two interleaved runs would mix one day's load into another's build.
    with exclusive_run(target, paths):
        started = time.perf_counter()
        with console.status(f"Generating what is missing: export at scale factor {scale_factor:g}, {days} day(s)"):
            summary.landed = generate_all(paths.landing_dir, scale_factor, days, seed, dirty)
        summary.stage_seconds["generate"] = time.perf_counter() - started

        def build_after(batch: BatchResult) -> None:
            # Building after every batch, not once at the end, is what keeps snapshot history
            # exact when a run catches up several business days.
            console.print(f"Loaded [bold]{batch.batch_id}[/]: {batch.rows_loaded:,} rows; running dbt build")
            summary.builds.append(run_dbt(paths.project_dir, target, "build", keep_results_as=BUILD_RESULTS))

        started = time.perf_counter()
        with console.status("Loading") as progress:
            summary.batches = load_pending(target, paths, after_each=build_after, report=progress.update)
        if not summary.builds:
            # Nothing new landed, but models may have changed since the last build.
            summary.builds.append(run_dbt(paths.project_dir, target, "build", keep_results_as=BUILD_RESULTS))
        summary.stage_seconds["load + build"] = time.perf_counter() - started

        started = time.perf_counter()
        run_dbt(paths.project_dir, target, "docs", "generate", "--static")
        summary.stage_seconds["docs"] = time.perf_counter() - started
        save_state(paths)
    return summary
