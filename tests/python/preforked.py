"""`elt` and `dbt` commands in processes forked from an interpreter that has imported dbt already.

Every command a test runs used to start a fresh interpreter, which spends 3 to 4 s of CPU
importing dbt, its adapters, DuckDB, pyarrow and typer before it does anything; the suite runs
well over a thousand commands. Here each pytest worker starts one server that imports those
once and forks a process per command. The command still runs in a process of its own, with
its own PID, environment, working directory, stdout, stderr and exit code, and a SIGKILL
kills it like any other: what runs after the fork is the console script's own entry point,
and the project's own modules (elt.*) are imported after the fork, from the command's
environment, never shared (decision 0027).

TEST_PREFORK=0 turns it off: every command is a plain subprocess, as before.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

# What the server imports before its first fork: the heavy third-party modules behind `elt`
# and `dbt`. Nothing of the project's own (elt.*): those read nothing at import, but a fresh
# import per command keeps any module-level state (rich's consoles) the command's own.
PRELOADED_MODULES = (
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.adapters.postgres",
    "dbt.task.build",
    "dbt.task.run_operation",
    "dbt.task.docs.generate",
    "dbt.parser.manifest",
    "duckdb",
    "psycopg",
    "pyarrow",
    "pyarrow.parquet",
    "typer",
    "rich.console",
    "rich.table",
)
# Console scripts of the venv -> (module, function) their wrapper calls.
ENTRY_POINTS = {"elt": ("elt.cli", "main"), "dbt": ("dbt.cli.main", "cli")}
ENABLED_VARIABLE = "TEST_PREFORK"
SERVER_START_SECONDS = 120


def enabled() -> bool:
    return os.environ.get(ENABLED_VARIABLE, "1") != "0"


def forkable(argv: Sequence[str]) -> bool:
    """A command of this venv's console scripts that the server knows how to start."""
    executable = Path(argv[0])
    return executable.parent == Path(sys.executable).parent and executable.name in ENTRY_POINTS


class PreforkedProcess:
    """A command forked by the server: the part of subprocess.Popen the tests use."""

    def __init__(self, args: list[str], connection: socket.socket, stdout_path: Path, stderr_path: Path) -> None:
        self.args = args
        self._connection = connection
        self._reader = connection.makefile("r")
        self._stdout_path, self._stderr_path = stdout_path, stderr_path
        self.pid = int(self._reader.readline())
        self.returncode: int | None = None
        self._ended = threading.Event()
        threading.Thread(target=self._await_exit, daemon=True).start()

    def _await_exit(self) -> None:
        line = self._reader.readline()
        # The server's runner writes the exit code when the command ends; nothing means it died too.
        self.returncode = int(line) if line.strip() else -signal.SIGKILL
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode if self._ended.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if not self._ended.is_set():
            with suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        outputs = []
        for path in (self._stdout_path, self._stderr_path):
            outputs.append(path.read_text(errors="replace"))
            path.unlink(missing_ok=True)
        self._reader.close()
        self._connection.close()
        return outputs[0], outputs[1]


class PreforkServer:
    """One per pytest worker: the server process and the directory of its socket and outputs."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="prefork-"))
        self.socket_path = self.directory / "server.sock"
        base_env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "ELT_"))}
        self._log = open(self.directory / "server.log", "w")  # noqa: SIM115 - kept open for the server's life
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(self.socket_path)],
            env=base_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not self.socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the prefork server did not start: {(self.directory / 'server.log').read_text()}")
            time.sleep(0.05)
        self._counter = 0

    def start(self, argv: Sequence[str], cwd: Path | str, env: dict[str, str]) -> PreforkedProcess:
        self._counter += 1
        stdout_path = self.directory / f"{self._counter}.out"
        stderr_path = self.directory / f"{self._counter}.err"
        request = {
            "argv": [str(part) for part in argv],
            "cwd": str(cwd),
            "env": env,
            "stdout": str(stdout_path),
            "stderr": str(stderr_path),
        }
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(self.socket_path))
        connection.sendall((json.dumps(request) + "\n").encode())
        return PreforkedProcess(list(request["argv"]), connection, stdout_path, stderr_path)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


_SERVER: PreforkServer | None = None


def _server() -> PreforkServer:
    global _SERVER
    if _SERVER is None or _SERVER.process.poll() is not None:
        _SERVER = PreforkServer()
        atexit.register(_SERVER.close)
    return _SERVER


def popen(
    argv: Sequence[str], cwd: Path | str, env: dict[str, str], preexec: Callable[[], None] | None = None
) -> PreforkedProcess | subprocess.Popen:
    """Start a command with its output captured: forked from the server when it can be, else a subprocess.

    A `preexec` function cannot cross to the server, so a command with one is a subprocess."""
    if enabled() and preexec is None and forkable(argv):
        return _server().start(argv, cwd, env)
    return subprocess.Popen(
        [str(part) for part in argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )


def run(
    argv: Sequence[str],
    cwd: Path | str,
    env: dict[str, str],
    timeout: float | None = None,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """subprocess.run(argv, capture_output=True, text=True, check=False), forked when it can be."""
    process = popen(argv, cwd, env, preexec)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess([str(part) for part in argv], process.returncode, stdout, stderr)


# --- the server side ---------------------------------------------------------------------


def _serve(socket_path: str) -> None:
    # Run as a script, this file's directory heads sys.path; a console script's does not.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    parent = os.getppid()
    # The runners the loop forks are reaped by the kernel; each runner reaps its own command.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".new")
    listener.listen(64)
    listener.settimeout(1.0)
    os.rename(socket_path + ".new", socket_path)  # the client waits for this name: bound and listening
    sys.stdout.flush()
    sys.stderr.flush()
    while os.getppid() == parent:  # the pytest worker that started it is gone: so is the server
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        if os.fork() == 0:
            listener.close()
            _runner(connection)
        connection.close()
    os._exit(0)


def _runner(connection: socket.socket) -> None:
    """Fork the command, tell the client its PID, wait, tell the client its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    connection.settimeout(None)
    request = json.loads(connection.makefile("r").readline())
    pid = os.fork()
    if pid == 0:
        connection.close()
        _command(request)
    connection.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    with suppress(OSError):  # the client is gone
        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)


def _command(request: dict) -> None:
    """In the command's own process: its directory, environment and files, then the console script."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        stdin = os.open(os.devnull, os.O_RDONLY)
        stdout = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        stderr = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for source, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(source, target)
            os.close(source)
        sys.argv = [request["argv"][0], *request["argv"][1:]]
        module_name, function_name = ENTRY_POINTS[Path(request["argv"][0]).name]
        function = getattr(importlib.import_module(module_name), function_name)
        try:
            result = function()
            code = result if isinstance(result, int) else 0
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        # What a normal interpreter exit does: atexit handlers, then the buffered output.
        try:
            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with suppress(Exception):  # nothing left to tell it with; the exit code still counts
                    stream.flush()
            os._exit(code)


if __name__ == "__main__":
    _serve(sys.argv[1])
