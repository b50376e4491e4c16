"""Feedback on long steps: progress bars on stderr, shown only to a person watching.

A bar appears when standard error is a terminal and the user did not ask for quiet (``-q``);
redirected logs and tables on standard output never mix with it.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Turn every progress bar of this process off (``-q``) or back on."""
    global _QUIET
    _QUIET = bool(quiet)


def shown() -> bool:
    """Whether progress is shown: not quiet, and standard error is a terminal."""
    return not _QUIET and sys.stderr.isatty()


def step(line: str) -> None:
    """A long step starting, as one line on stderr (shown, like the bars, only to a person watching)."""
    if shown():
        print(line, file=sys.stderr, flush=True)


def bar(iterable: Iterable | None = None, **kw: Any):
    """A tqdm bar on stderr (``disable=True`` in ``kw`` hides it too)."""
    from tqdm import tqdm

    kw["disable"] = kw.get("disable", False) or not shown()
    return tqdm(iterable, file=sys.stderr, **kw)
