"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import datetime as _dt
import shlex
from pathlib import Path


def add_config_args(parser: argparse.ArgumentParser, example: str = "seed=1") -> None:
    """``--config FILE``, repeatable ``--set key=value`` (defaults < file < flags) and
    ``--print-config``; ``example`` is a valid ``--set`` of this command, shown in its help."""
    parser.add_argument("--config", metavar="FILE", help="TOML file with settings (unknown keys are errors; "
                        "'berth config' lists them)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                        help=f"override one setting, e.g. --set {example} (repeatable)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved settings as TOML (ready to save and pass to --config) and stop")


def printed_config(args: argparse.Namespace, cfg: object) -> bool:
    """With ``--print-config``: print ``cfg`` as TOML and return True (the command stops there)."""
    if not getattr(args, "print_config", False):
        return False
    from berth.core.config import to_dict, to_toml

    print(to_toml(to_dict(cfg)), end="")
    return True


def add_sweep_args(parser: argparse.ArgumentParser) -> None:
    """How a sweep is named: a sweep file (``--config FILE`` or positional; default: the embedded
    one), ``--set`` overrides and ``--print-config``."""
    parser.add_argument("sweep_file", nargs="?", metavar="SWEEP.toml", help="sweep file (same as --config)")
    parser.add_argument("--config", metavar="FILE", help="sweep file (default: the embedded one)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                        help="override one sweep key, e.g. --set chips=10 --set 'p=[0.01]' (repeatable)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved sweep as TOML (ready to save and pass to --config) and stop")


def sweep_of(args: argparse.Namespace):
    """The resolved sweep ``args`` name, and its file."""
    from berth.core.errors import BerthError
    from berth.flows.sweep import load_sweep

    if args.config and args.sweep_file:
        raise BerthError(f"two sweep files: {args.sweep_file!r} and --config {args.config!r}; give one")
    return load_sweep(args.config or args.sweep_file, args.overrides)


def at_least(low: int, high: int | None = None):
    """An argparse type: an integer >= ``low`` (and <= ``high``; a bad value is a one-line error
    naming it)."""
    allowed = f"integers >= {low}" if high is None else f"integers {low}..{high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is not allowed; allowed: {allowed}")
        return value

    parse.__name__ = allowed.replace("integers", "integer")
    return parse


def add_store_arg(parser: argparse.ArgumentParser, default: str) -> None:
    """``--store FILE``: the results store a command reads and writes (``default`` says which
    store is used when the flag is absent)."""
    parser.add_argument("--store", metavar="FILE", default=None, help=f"results store (default: {default})")


def run_dir(root: str | Path, kind: str) -> Path:
    """A fresh, timestamped run directory name under ``root`` (not created)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(root) / f"{kind}-{stamp}"


def data_flags(dataset: str, data_dir: str | None) -> str:
    """The ``--set`` flags that give a next command the same data (none for the embedded digits)."""
    flags = "" if dataset == "digits" else f" --set dataset={dataset}"
    return flags + (f" --set data_dir={shlex.quote(str(data_dir))}" if data_dir else "")
