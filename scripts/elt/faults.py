"""Named fault points for fault-injection tests.

ELT_KILL_AT=<point> makes the process SIGKILL itself when it gets there, so a test can crash
a load at an exact moment instead of guessing with timers. ELT_PAUSE_AT=<point> makes it
stop there for ELT_PAUSE_SECONDS (touching ELT_PAUSE_MARKER first, so a test knows it
arrived), which lets a test start a second process while the first holds its locks.
Unset (always, outside tests) a point costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

KILL_AT_VARIABLE = "ELT_KILL_AT"
PAUSE_AT_VARIABLE = "ELT_PAUSE_AT"
PAUSE_SECONDS_VARIABLE = "ELT_PAUSE_SECONDS"
PAUSE_MARKER_VARIABLE = "ELT_PAUSE_MARKER"


def fault_point(name: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_AT_VARIABLE) == name:
        marker = os.environ.get(PAUSE_MARKER_VARIABLE)
        if marker:
            Path(marker).touch()
        time.sleep(float(os.environ.get(PAUSE_SECONDS_VARIABLE, "5")))
