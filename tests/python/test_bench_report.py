"""What `elt bench` reports from its measurements: growth across scale factors and the
README's targets table. (The measuring itself is `make bench`; targets never sit in tests.)"""

from __future__ import annotations

import json
from pathlib import Path

from elt.bench.harness import TARGETS_END, TARGETS_START, concurrency, growth, write_targets


def full_build(scale_factor: float, median_seconds: float, peak_rss_mb: float) -> dict:
    return {
        "scenario": "full" if scale_factor == 1 else "scale",
        "engine": "duckdb",
        "scale_factor": scale_factor,
        "measured_at": "2026-11-25T18:00:00+00:00",
        "seconds": {"min": median_seconds, "median": median_seconds, "all": [median_seconds]},
        "peak_rss_mb": {"pipeline": peak_rss_mb, "reference": 1.0},
        "machine": {"commit": "abc1234"},
    }


def test_growth_compares_each_scale_factor_with_the_next() -> None:
    steps = growth([full_build(10, 480.0, 8000.0), full_build(0.1, 12.0, 600.0), full_build(1, 40.0, 2400.0)])
    assert [(step["from_sf"], step["to_sf"]) for step in steps] == [(0.1, 1), (1, 10)]
    # 40 s -> 480 s is 12x for 10x the data: worse than linear; 12 s -> 40 s is better.
    assert [step["time_grew"] for step in steps] == [3.33, 12.0]
    assert [step["no_worse_than_linear"] for step in steps] == [True, False]
    assert steps[1]["peak_rss_grew"] == 3.33


def test_targets_table_is_rewritten_from_the_results_and_the_rest_of_the_readme_kept(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    full = full_build(1, 30.0, 2000.0) | {
        "ratio": {"min": 1.25, "median": 1.5, "all": [1.25, 1.5, 1.75]},
        "target": {"met": False},
    }
    (results / "full-duckdb-sf1.json").write_text(json.dumps(full))
    steps = growth([full_build(1, 40.0, 2400.0), full_build(10, 380.0, 9000.0)])
    (results / "growth-duckdb.json").write_text(
        json.dumps({"measured_at": "2026-11-25T19:00:00+00:00", "steps": steps})
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"# Intro\n\n{TARGETS_START}\nold table\n{TARGETS_END}\n\n## After\n")

    write_targets(readme, results)

    text = readme.read_text()
    assert text.startswith("# Intro\n\n") and text.endswith(f"{TARGETS_END}\n\n## After\n")
    assert "old table" not in text
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    duckdb_full = rows["Full build, DuckDB, SF1: pipeline <= 1.3x the hand-written reference"]
    assert "ratio 1.25 / 1.50 (3 runs) | **no** | 2026-11-25, abc1234" in duckdb_full
    assert "not measured" in rows["Full build, PostgreSQL, SF1: pipeline <= 1.5x the hand-written reference"]
    assert "9,000 MB | **no**" in rows["SF10 on DuckDB: peak memory < 8 GiB"]
    assert "time x9.5 for scale x10.0" in rows["SF1 -> SF10 on DuckDB: time grows no worse than linearly"]
    assert "| yes |" in rows["SF1 -> SF10 on DuckDB: time grows no worse than linearly"]


def test_concurrency_counts_the_time_each_number_of_nodes_ran_and_who_ran_alone() -> None:
    # Two threads, by hand: staging alone 0-2; a test beside the fact 2-3; the fact
    # alone 3-6; nothing 6-6.5; the report alone 6.5-7; an exposure takes no time. The
    # build took 9 s of wall time.
    spans = {
        "model.staging": [100.0, 102.0],
        "test.staging": [102.0, 103.0],
        "model.fact": [102.0, 106.0],
        "model.report": [106.5, 107.0],
        "exposure.dashboard": [104.0, 104.0],
    }
    profile = concurrency(spans, build_seconds=9.0)
    assert profile["seconds_with_nodes_running"] == {"0": 0.5, "1": 5.5, "2": 1.0}
    assert profile["ran_alone_longest"] == {"model.fact": 3.0, "model.staging": 2.0, "model.report": 0.5}
    # 7 s from the first node's start to the last node's end: 2 s outside any node.
    assert profile["outside_nodes_seconds"] == 2.0
    assert profile["build_seconds"] == 9.0
