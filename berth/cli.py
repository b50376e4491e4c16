"""The ``berth`` command line: one subcommand per capability.

Each subcommand lives in ``berth/commands/<name>.py`` and exposes ``register(subparsers)`` (found
automatically); heavy
imports (torch, hls4ml, cocotb) happen inside the command's handler, so ``berth --help`` is fast.
A BerthError anywhere becomes ``berth: error: <one line>`` and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import berth.commands

from berth import __version__
from berth.core.errors import BerthError



def command_modules() -> list[str]:
    """Modules of ``berth.commands`` that define a subcommand (``register``), sorted by name."""
    names = [m.name for m in pkgutil.iter_modules(berth.commands.__path__)]
    return [n for n in sorted(names) if hasattr(importlib.import_module(f"berth.commands.{n}"), "register")]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="berth",
        description="Simulate quantized neural networks on accelerators whose weight memory makes "
        "bit errors: quantize, inject bit errors, measure robust error, export to hardware.",
    )
    parser.add_argument("--version", action="version", version=f"berth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_modules():
        importlib.import_module(f"berth.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BerthError as exc:
        print(f"berth: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("berth: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
