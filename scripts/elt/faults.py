"""Named crash points for fault-injection tests.

Setting ELT_KILL_AT to a point's name makes the process SIGKILL itself when it gets there,
so a test can crash a load at an exact moment instead of guessing with timers. Unset (always,
outside tests) a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

KILL_AT_VARIABLE = "ELT_KILL_AT"


def fault_point(name: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
