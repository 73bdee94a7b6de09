"""One measured pipeline run, in its own process so the parent can read its peak memory.

    python -m elt.bench.child '<json spec>'

The spec names the work: `pipeline` (load the first batches, the ERP's export and the other
sources' deliveries of its day; dbt build, publish; then, if daily batches are named (a list
per day, every source's), load, build and publish each day in turn, the last one timed) or
`reference` (load the first batches, then the hand-written SQL). Loader and dbt run in
this one process, dbt in-process as `elt run` runs it, so the peak RSS the parent reads is
that of "dbt and the loader". Prints one JSON line with the wall time of each stage, the
rows loaded and quarantined, and dbt's per-node timings.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from elt.dbt import PRODUCTION_BUILD_ARGS, dbt_target_dir, forget_parsed_manifests, publish_marts, run_dbt
from elt.errors import EltError
from elt.load.loader import load_pending
from elt.settings import Paths


def _dbt_build(paths: Paths, target: str) -> tuple[float, dict]:
    """The build's wall time, and per node: dbt's execution time and its [start, end] in seconds."""
    # Each build is timed as the first dbt step of a new `elt run` process: parse included.
    forget_parsed_manifests()
    started = time.perf_counter()
    # The build `elt run` runs, without its console output.
    run_dbt(paths.project_dir, target, "build", *PRODUCTION_BUILD_ARGS, "--quiet")
    seconds = time.perf_counter() - started
    run_results = json.loads((dbt_target_dir(paths.project_dir) / "run_results.json").read_text())
    nodes = {
        item["unique_id"]: {"seconds": round(item["execution_time"], 3), "span": _node_span(item)}
        for item in run_results["results"]
    }
    return seconds, nodes


def _node_span(result: dict) -> list[float] | None:
    """From the start of its first timed step (compile) to the end of its last (execute), as
    epoch seconds; None for a node dbt timed no step of."""
    steps = [step for step in result.get("timing", []) if step.get("started_at") and step.get("completed_at")]
    if not steps:
        return None
    return [min(_epoch(step["started_at"]) for step in steps), max(_epoch(step["completed_at"]) for step in steps)]


def _epoch(stamp: str) -> float:
    return round(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), 3)


def _publish(paths: Paths, target: str) -> float:
    """Publishing is part of the pipeline a company runs (write-audit-publish), so it is timed with it."""
    started = time.perf_counter()
    publish_marts(paths.project_dir, target)
    return time.perf_counter() - started


def _load(paths: Paths, target: str, *batch_ids: str) -> tuple[float, dict[str, int]]:
    """Seconds to load the batches, and their rows loaded and quarantined."""
    started = time.perf_counter()
    results = [result for batch_id in batch_ids for result in load_pending(target, paths, only_batch=batch_id)]
    rows = {
        "rows_loaded": sum(result.rows_loaded for result in results),
        "rows_quarantined": sum(result.rows_quarantined for result in results),
    }
    return time.perf_counter() - started, rows


def main(spec: dict) -> dict:
    paths = Paths.resolve()
    target = spec["target"]
    stages: dict[str, float] = {}
    measured: dict = {"stages": stages}
    stages["load"], rows = _load(paths, target, *spec["first_batches"])
    measured.update(rows)
    if spec["work"] == "reference":
        from elt.bench.reference import run_reference

        stages["reference_sql"] = run_reference(target, paths)
        return measured
    stages["dbt_build"], measured["dbt_nodes"] = _dbt_build(paths, target)
    stages["publish"] = _publish(paths, target)
    if spec.get("daily_batches"):
        *warm_up, daily_batch = spec["daily_batches"]
        # The days that bring the warehouse to its steady state (harness.steady_state_days).
        started = time.perf_counter()
        for batch_ids in warm_up:
            _load(paths, target, *batch_ids)
            _dbt_build(paths, target)
            _publish(paths, target)
        stages["warm_up_days"] = time.perf_counter() - started
        stages["daily_load"], rows = _load(paths, target, *daily_batch)
        measured.update({f"daily_{name}": count for name, count in rows.items()})
        stages["daily_dbt_build"], measured["daily_dbt_nodes"] = _dbt_build(paths, target)
        stages["daily_publish"] = _publish(paths, target)
    return measured


if __name__ == "__main__":
    try:
        result = main(json.loads(sys.argv[1]))
    except EltError as error:
        # The parent quotes this output in its own error: the message, not a traceback.
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)
    sys.stdout.write("BENCH-RESULT " + json.dumps(result) + "\n")
