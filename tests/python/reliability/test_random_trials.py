"""Randomized trials: `elt` killed at every named fault point and at random moments, with
`elt load`, `publish`, `rollback` and `replay` interleaved, must end where a clean run ends.

A trial is a sequence of commands on one warehouse, drawn from a seeded random generator,
so a failing trial is replayed exactly by its seed (ELT_TRIAL_SEED, default below; the
trials of a session use seed, seed + 1, ...; ELT_TRIALS sets how many per engine, one by
default, which already fires every named point once). The landing area grows a business
day at a time, as a real feed does. A trial:
1. kills the loader at each of its named points on the export (the batch stays pending
   until the kill that comes after its commit), through `elt load` or `elt run` at random;
2. then, in random order: kills `elt run` inside dbt nodes and in the publish transaction,
   kills `elt replay` once its request is recorded, and kills `elt run` at random moments
   (SIGKILL after a random delay), each time with a new day landed or a replay of a random
   loaded day first, so there is work to kill (a publish kill always gets a new day, kept
   back for it, and any rollback's hold ended first: a run publishes only inputs no
   version has, and nothing while a rollback holds publication); between them, at random, an unarmed
   `elt load`, `elt publish`, `elt rollback`, `elt replay` or `elt status`;
3. finishes as an operator would: lands what is left, runs `elt run`, follows the advice
   of any command that failed cleanly (a replay to finish), and `elt publish` to end a
   hold a rollback left.
Every command must end killed, in success, or with exit 1 and a one-line error (never a
traceback). The end state's fingerprint (raw without load times, the ledger, the derived
history, the marts consumers read) must equal that of one clean `elt run` over the same
landing in a fresh warehouse. Every named point must have fired in the session.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import preforked
from conftest import (
    ELT,
    TEST_SCALE_FACTOR,
    fresh_postgres_database,
    make_workspace,
    warehouse_query,
    workspace_dir,
)
from elt.faults import KILL_AT_VARIABLE, dbt_node_point
from elt.sources import erp_entities
from fingerprints import differences, fingerprint, warehouse_fingerprint
from reliability.outcomes import engine_name, record

# The whole pipeline, over and over: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.e2e

DEFAULT_SEED = 20261202
TRIAL_DAYS = 6
TRIAL_SEED_FOR_DATA = "17"
LOADER_POINTS = (
    "after-verify",
    "after-stage",
    *(f"after-write-{entity.name}" for entity in erp_entities()),
    "before-commit",
)

# Inside dbt: a staging table, the history, a dimension, the incremental fact, a report.
DBT_POINTS = tuple(
    dbt_node_point(node)
    for node in (
        "stg_erp__orders",
        "int_customers__versioned",
        "int_part_suppliers__versioned",
        "dim_customers",
        "fct_order_lines",
        "rpt_monthly_revenue_by_region_segment",
    )
)
PUBLISH_POINTS = ("publish:after-copy", "publish:before-commit")
REPLAY_POINTS = ("replay-requested",)
RANDOM_KILLS = 3
NAMED_POINTS = (*LOADER_POINTS, "after-commit", *DBT_POINTS, *PUBLISH_POINTS, *REPLAY_POINTS)
EXTRA_COMMANDS = ("load", "publish", "rollback", "replay", "status")
ADVISED_REPLAY = re.compile(r"elt replay (--source [a-z0-9]+ )?--from-date (\d{4}-\d{2}-\d{2})")
HISTORY_MODELS = (
    "int_customers__versioned",
    "int_suppliers__versioned",
    "int_parts__versioned",
    "int_part_suppliers__versioned",
)
FIRED: dict[str, set[str]] = {}
# `elt run` generates the days it is told to that are not landed: none here, the trial lands them.
LAND_NOTHING = {"ELT_DAYS": "0"}


def trial_count() -> int:
    return int(os.environ.get("ELT_TRIALS", "1"))


def first_seed() -> int:
    return int(os.environ.get("ELT_TRIAL_SEED", str(DEFAULT_SEED)))


@pytest.fixture(scope="module")
def trial_landing(tmp_path_factory: pytest.TempPathFactory, landed_export: Path) -> Path:
    """The shared export and TRIAL_DAYS daily batches, which each trial lands a day at a time."""
    root = tmp_path_factory.mktemp("trial-landing")
    shutil.copytree(landed_export, root / "landing")
    source = make_workspace(root)
    source.elt(
        "generate", "--scale-factor", TEST_SCALE_FACTOR, "--days", str(TRIAL_DAYS), "--seed", TRIAL_SEED_FOR_DATA
    )
    return source.landing_dir


def end_state(query) -> dict:
    """Raw and the ledger, the derived history and the published marts, without wall-clock columns."""
    state = {f"raw+ledger.{name}": value for name, value in fingerprint(query).items()}
    state.update(warehouse_fingerprint(query, ("raw", "marts")))
    history = warehouse_fingerprint(query, ("intermediate",))
    state.update({name: value for name, value in history.items() if name.split(".")[1] in HISTORY_MODELS})
    return state


def kept_rows(state: dict) -> dict[str, int]:
    """Rows that must never be lost: raw and the history (fingerprints are (columns, rows, hash))."""
    return {
        name: value[1]
        for name, value in state.items()
        if name.startswith("raw.") or name.split(".")[-1] in HISTORY_MODELS
    }


@dataclass
class Trial:
    target: str
    root: Path
    env: dict[str, str]
    source_landing: Path
    rng: random.Random
    log: list[str] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    kills: int = 0
    following_advice: bool = False
    # Days kept back for the publish kills: a run publishes only inputs no live version has
    # (a replayed day's content already is), so only a new day takes it to the publish points.
    days_reserved: int = 0
    # A rollback holds publication until `elt publish`: no `elt run` reaches the publish points meanwhile.
    on_hold: bool = False

    @property
    def landing(self) -> Path:
        return Path(self.env["ELT_LANDING_DIR"])

    def batches(self) -> list[Path]:
        return sorted(path.parent for path in self.source_landing.glob("*/manifest.json"))

    def land_next_day(self, reserved_too: bool = False) -> bool:
        """Land the next day not landed yet (every source's batches of that business date, as a
        day's deliveries come), unless only reserved days are left; False when none was landed."""
        unlanded = [batch for batch in self.batches() if not (self.landing / batch.name).exists()]
        days = sorted({batch.name[:8] for batch in unlanded})
        if len(days) <= (0 if reserved_too else self.days_reserved):
            return False
        for batch in unlanded:
            if batch.name.startswith(days[0]):
                shutil.copytree(batch, self.landing / batch.name)
                self.log.append(f"land {batch.name}")
        return True

    def landed_dates(self) -> list[str]:
        names = sorted(path.name for path in self.landing.iterdir() if (path / "manifest.json").is_file())
        return [f"{name[:4]}-{name[4:6]}-{name[6:8]}" for name in names]

    def elt(self, *args: str, kill_at: str | None = None, kill_after: float | None = None) -> int:
        """One command, armed at a point or killed after a delay; returns its exit code (negative: killed)."""
        env = {**self.env, **({KILL_AT_VARIABLE: kill_at} if kill_at else {})}
        command = [str(ELT), *args, "--target", self.target]
        process = preforked.popen(command, cwd=workspace_dir(self.env), env=env)
        if kill_after is not None:
            deadline = time.monotonic() + kill_after
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=900)
        code = process.returncode
        armed = f" armed at {kill_at}" if kill_at else f" killed after {kill_after:.1f}s" if kill_after else ""
        self.log.append(f"elt {' '.join(args)}{armed} -> {code}")
        if code == -signal.SIGKILL:
            self.kills += 1
            if kill_at:
                self.fired.add(kill_at)
        else:
            assert code in (0, 1), (self.log, stdout[-3000:], stderr[-3000:])
            assert "Traceback" not in stdout + stderr, (self.log, stdout[-3000:], stderr[-3000:])
        if code == 0 and args[0] in ("rollback", "publish"):
            self.on_hold = args[0] == "rollback"
        if code == 1:
            self.follow_advice(stdout + stderr)
        return code

    def follow_advice(self, output: str) -> None:
        """A command that failed cleanly says what to do; the one thing it may ask here is a replay to finish."""
        advised = ADVISED_REPLAY.search(" ".join(output.split()))
        if advised and not self.following_advice:
            self.log.append(f"advice: {advised.group(0)}")
            self.following_advice = True
            try:
                self.elt("replay", *(advised.group(1) or "").split(), "--from-date", advised.group(2))
            finally:
                self.following_advice = False

    def make_work(self, for_publish: bool = False) -> None:
        """Something new to load, build and publish: the next day, or else a replay of a random landed day."""
        if for_publish:
            if self.on_hold:
                self.elt("publish")
            self.days_reserved -= 1
            assert self.land_next_day(reserved_too=True), self.log
            return
        if not self.land_next_day():
            self.elt("replay", "--from-date", self.rng.choice(self.landed_dates()[1:]))

    def replay_armed_at(self, point: str) -> None:
        """A replay killed at `point`. A replay refused cleanly never gets there (another one is
        unfinished, or nothing of that date is loaded yet): a run finishes what is open, as an
        operator would, and the replay is asked again, so the point fires whatever came before."""
        for _ in range(4):
            self.elt("replay", "--from-date", self.rng.choice(self.landed_dates()), kill_at=point)
            if point in self.fired:
                return
            self.elt("run")

    def extra_command(self) -> None:
        command = self.rng.choice(EXTRA_COMMANDS)
        if command == "replay":
            self.elt("replay", "--from-date", self.rng.choice(self.landed_dates()))
        elif command == "load":
            self.land_next_day()
            self.elt("load")
        else:
            self.elt(command)


def run_trial(trial: Trial) -> None:
    rng = trial.rng
    # 1. The loader's points on the export: each kill before the commit leaves it pending for the next.
    trial.land_next_day()
    loader_points = list(LOADER_POINTS)
    rng.shuffle(loader_points)
    for point in [*loader_points, "after-commit"]:
        trial.elt(rng.choice(("load", "run")), kill_at=point)
    # 2. dbt, publish, replay and random-moment kills in random order, with interleaved commands.
    steps: list[tuple[str, str | None]] = [("run", point) for point in (*DBT_POINTS, *PUBLISH_POINTS)]
    steps += [("replay", point) for point in REPLAY_POINTS]
    steps += [("run", None)] * RANDOM_KILLS
    rng.shuffle(steps)
    trial.days_reserved = len(PUBLISH_POINTS)
    for command, point in steps:
        trial.make_work(for_publish=point in PUBLISH_POINTS)
        if command == "replay":
            trial.replay_armed_at(point)
        elif point is None:
            trial.elt("run", kill_after=rng.uniform(0.5, 20.0))
        else:
            trial.elt("run", kill_at=point)
        if rng.random() < 0.6:
            trial.extra_command()
    # 3. The operator finishes: everything landed, a run, and a publish to end any hold.
    while trial.land_next_day(reserved_too=True):
        pass
    trial.elt("run")
    trial.elt("run")
    trial.elt("publish")


@pytest.fixture(scope="module")
def clean_end_state(tmp_path_factory: pytest.TempPathFactory, trial_landing: Path, request) -> Callable[[str], dict]:
    """target -> the end state of one `elt run` over the whole trial landing in a fresh warehouse."""
    states: dict[str, dict] = {}

    def state_of(target: str) -> dict:
        if target not in states:
            root = tmp_path_factory.mktemp(f"trial-clean-{target}")
            workspace = make_workspace(root, landing_dir=trial_landing, extra_env=LAND_NOTHING)
            with ExitStack() as stack:
                if target == "pg":
                    workspace.env.update(
                        stack.enter_context(fresh_postgres_database(request.getfixturevalue("postgres_server")))
                    )
                workspace.elt("run", "--target", target)
                states[target] = end_state(warehouse_query(target, workspace.env))
        return states[target]

    return state_of


@pytest.mark.parametrize("trial_number", range(trial_count()))
def test_randomized_trial_ends_equal_to_a_clean_run(
    engine, trial_number: int, trial_landing: Path, clean_end_state, tmp_path: Path
) -> None:
    target, workspace, query = engine
    seed = first_seed() + trial_number
    workspace.env.update(LAND_NOTHING)
    workspace.env["ELT_LANDING_DIR"] = str(tmp_path / "trial-landing")
    Path(workspace.env["ELT_LANDING_DIR"]).mkdir()
    trial = Trial(target, tmp_path, workspace.env, trial_landing, random.Random(seed))
    run_trial(trial)

    clean = clean_end_state(target)
    final = end_state(query)
    rows_lost = sum(max(rows - kept_rows(final).get(name, 0), 0) for name, rows in kept_rows(clean).items())
    equal = final == clean
    FIRED.setdefault(target, set()).update(trial.fired)
    record(
        "trial",
        f"randomized trial, seed {seed}: {trial.kills} kills ({len(trial.fired)} named points, "
        f"{RANDOM_KILLS} random moments), {len(trial.log)} steps",
        engine_name(target),
        "every command killed, green, or one-line exit 1; end state equals a clean run",
        f"end state {'equals' if equal else 'DIFFERS from'} a clean run",
        rows_lost,
    )
    assert equal, (seed, differences(clean, final), trial.log)
    assert rows_lost == 0


def test_every_named_point_fired(engine) -> None:
    """Across this session's trials on the engine, each named point was reached and killed the command."""
    target, _, _ = engine
    if target not in FIRED:
        pytest.fail(f"no randomized trial ran on {target} before this check (run the whole file)")
    assert set(NAMED_POINTS) - FIRED[target] == set()
