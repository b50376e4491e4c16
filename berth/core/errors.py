"""The one exception type berth raises for bad input or a missing tool.

Its message is a single line that names the offending value and what is allowed; the CLI
prints it as ``berth: error: <message>`` and exits with status 2, never a traceback.
"""


class BerthError(Exception):
    """A user-facing error: bad input, a missing tool, a failed external step."""


def check_choice(what: str, value: object, allowed: "list[str] | tuple[str, ...]") -> None:
    """Raise a BerthError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise BerthError(f"unknown {what} {value!r}; allowed: {', '.join(map(str, allowed))}")


def check_range(what: str, value: float, lo: float, hi: float) -> None:
    """Raise a BerthError unless ``lo <= value <= hi`` (and value is a real number)."""
    try:
        ok = lo <= float(value) <= hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise BerthError(f"{what} = {value!r} is outside the allowed range [{lo}, {hi}]")


MAX_CHIPS = 100_000  # simulated chips per bit error rate: more is a typo, not a study
MAX_SEED = 2**32 - 1  # seeds and chip numbers: what every generator berth seeds (NumPy, PyTorch) accepts


def is_seed(value: object) -> bool:
    """Whether ``value`` is an integer seed in 0..MAX_SEED."""
    return not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= MAX_SEED


def check_seed(what: str, value: object) -> None:
    """Raise a BerthError unless ``value`` is an integer seed in 0..MAX_SEED."""
    if not is_seed(value):
        raise BerthError(f"{what} = {value!r} is not allowed; allowed: integers 0..{MAX_SEED}")
