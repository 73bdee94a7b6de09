"""The runbooks name commands that exist, with options that exist, and the tests that try them."""

from __future__ import annotations

import re
import shlex

import typer.main

from conftest import PROJECT_DIR
from elt.cli import app

RUNBOOKS = PROJECT_DIR / "docs" / "runbooks"
REQUIRED = (
    "failed-load.md",
    "reprocess-a-batch.md",
    "backfill.md",
    "rollback.md",
    "restore.md",
    "rotate-credentials.md",
    "add-a-source.md",
)
FENCED_BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def elt_command_lines(text: str) -> list[str]:
    lines = []
    for block in FENCED_BLOCK.findall(text):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith("elt "):
                lines.append(command)
    return lines


def test_every_runbook_the_operators_need_exists() -> None:
    assert sorted(path.name for path in RUNBOOKS.glob("*.md")) == sorted(REQUIRED)


def test_runbook_commands_exist_with_their_options() -> None:
    commands = typer.main.get_command(app).commands
    checked = 0
    for runbook in sorted(RUNBOOKS.glob("*.md")):
        for line in elt_command_lines(runbook.read_text()):
            words = shlex.split(line.replace("<target>", "dev"))
            name = words[1]
            assert name in commands, f"{runbook.name}: `{line}` names no elt command"
            options = {option for param in commands[name].params for option in param.opts}
            for word in words[2:]:
                if word.startswith("-"):
                    assert word.split("=", 1)[0] in options, f"{runbook.name}: `{line}`: no option {word}"
            checked += 1
    assert checked >= 10


def test_each_runbook_names_the_tests_that_try_it() -> None:
    for runbook in sorted(RUNBOOKS.glob("*.md")):
        text = runbook.read_text()
        named = re.findall(r"tests/python/(test_\w+\.py)", text)
        assert named, f"{runbook.name} names no test that tries it"
        for test_file in named:
            assert (PROJECT_DIR / "tests" / "python" / test_file).is_file(), f"{runbook.name}: {test_file} is missing"
