"""Crash points for the fault tests: `NOTIFIER_CRASH_AT=<point>:<file>` makes the notifier exit at
once (no clean-up, as kill -9 would) the first time it reaches `<point>`, and creates `<file>` so
that the notifier started next does not. Unset in production: each call is one dictionary lookup.

Points: `after-commit` (notifications committed, stream entries not yet acknowledged) and
`after-send` (a channel took a message, not yet noted as sent): the two windows a kill can hit.
"""

from __future__ import annotations

import os
from pathlib import Path


def crash_point(name: str) -> None:
    """Exit now if the crash point `name` is armed and has not fired yet."""
    armed = os.environ.get("NOTIFIER_CRASH_AT")
    if not armed:
        return
    point, _, flag = armed.partition(":")
    if point != name or not flag or Path(flag).exists():
        return
    Path(flag).touch()
    os._exit(137)  # as SIGKILL: no finally, no flush, no acknowledgement
