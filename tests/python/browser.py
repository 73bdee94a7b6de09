"""Headless Chromium for the tests of what people look at: the docs site, the dashboards, Dagster's UI.

Playwright cannot download its own browser here, so it drives Debian's chromium (or the Chrome
that CHROMIUM_PATH names, as on GitHub's runners); with no browser a test fails and says what to
install. The `chromium` fixture (conftest.py) gives each test its own session.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start. The other two
# keep the browser from reaching out (there is no network here, and a test should not wait on one).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 20_000


@dataclass
class Chromium:
    """Headless Chromium for one test, launched on first use so that a missing browser fails the test."""

    playwright: Playwright
    browser: Browser | None = None
    # Uncaught JavaScript exceptions on any page: the site broke even where the page looks right.
    page_errors: list[str] = field(default_factory=list)

    def open(self, url: str, viewport: dict[str, int] | None = None) -> Page:
        if self.browser is None:
            if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
                pytest.fail(
                    f"No browser at {CHROMIUM}. The browser tests drive a real Chromium and Playwright cannot "
                    "download one here: install Debian's chromium (`sudo apt-get install chromium`, as .ci/run "
                    "does), or set CHROMIUM_PATH to a Chrome or Chromium executable.",
                    pytrace=False,
                )
            self.browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = self.browser.new_page(viewport=viewport or VIEWPORT)
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.goto(url)
        return page

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()


def assert_screenshot(path: Path) -> None:
    """A PNG of at least the viewport's size with something on it (a blank page compresses to a few kB)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= VIEWPORT["width"] and height >= VIEWPORT["height"], f"{path} is {width}x{height}"
    assert len(data) > 30_000, f"{path} is {len(data)} bytes: a blank page?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(command: list[str], cwd: Path, env: dict[str, str], probe_url: str, wait_s: float) -> Iterator[None]:
    """A local web server for one test: started, waited for until `probe_url` answers, and stopped after.

    Its log goes to a file beside it (a pipe nobody reads would fill and stall the server), and
    a server that exits or does not answer in `wait_s` fails the test with the log's end."""
    name = Path(command[0]).name
    log_path = cwd / f"{name}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if server.poll() is not None:
                pytest.fail(f"{name} exited {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(probe_url, timeout=5) as response:
                    response.read()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"{name} did not answer on {probe_url} in {wait_s:g} s:\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.2)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
