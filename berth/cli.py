"""The ``berth`` command line: one subcommand per capability.

Each subcommand lives in ``berth/commands/<name>.py`` and exposes ``register(subparsers)`` (found
automatically); heavy imports (torch, hls4ml, cocotb) happen inside the command's handler, so
``berth --help`` is fast. Every failure the user can act on — a BerthError, a file that cannot be
read or written, a full disk, a damaged results store, an unreadable JSON or text file — becomes
``berth: error: <one line>`` and exit status 2; a closed pipe (``berth results | head``) ends
quietly.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import pkgutil
import sqlite3
import sys

import berth.commands

from berth import __version__
from berth.core.errors import BerthError
from berth.core.progress import set_quiet



def command_modules() -> list[str]:
    """Modules of ``berth.commands`` that define a subcommand (``register``), sorted by name."""
    names = [m.name for m in pkgutil.iter_modules(berth.commands.__path__)]
    return [n for n in sorted(names) if hasattr(importlib.import_module(f"berth.commands.{n}"), "register")]


class Parser(argparse.ArgumentParser):
    """argparse with berth's one-line errors (``berth: error: ...``, exit 2) instead of a usage
    block; subcommand parsers are of the same class."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"berth: error: {self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = Parser(
        prog="berth",
        description="Simulate quantized neural networks on accelerators whose weight memory makes "
        "bit errors: quantize, inject bit errors, measure robust error, export to hardware.",
    )
    parser.add_argument("--version", action="version", version=f"berth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_modules():
        importlib.import_module(f"berth.commands.{name}").register(sub)
    for leaf in leaf_parsers(parser):
        if "--quiet" not in leaf._option_string_actions:
            leaf.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser


def leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser of a (sub)command that runs something, nested subcommands included."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [parser]
    return [leaf for child in subs[0].choices.values() for leaf in leaf_parsers(child)]


def one_line(exc: BaseException) -> str:
    """The user-facing line for a failure: what went wrong, on what, and what to do."""
    if isinstance(exc, BerthError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" {str(exc.filename)!r}" if exc.filename else ""
        hint = {errno.ENOSPC: "free some space or choose another --out",
                errno.EACCES: "check its permissions or choose another path",
                errno.EROFS: "the file system is read-only: choose another path",
                errno.EISDIR: "a file was expected there",
                errno.ENOTDIR: "a folder on that path is a file"}.get(exc.errno, "")
        return f"cannot use{where}: {exc.strerror or exc}" + (f" ({hint})" if hint else "")
    if isinstance(exc, sqlite3.DatabaseError):
        return (f"results store error: {exc} (the store is damaged, read-only or not a berth store; "
                "pass another --store)")
    if isinstance(exc, json.JSONDecodeError):
        return f"a JSON file berth read is not valid JSON ({exc.msg} at line {exc.lineno})"
    return f"a file berth read is not UTF-8 text ({exc})"


QUIET_PACKAGES = r"(brevitas|qonnx|hls4ml|onnx|onnxscript|onnxruntime|cocotb|cocotb_tools|torch|ray)(\..*)?$"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    import warnings

    warnings.filterwarnings("ignore", module=QUIET_PACKAGES)  # third-party notices a user cannot act on
    parser = build_parser()
    args = parser.parse_args(argv)
    set_quiet(args.quiet)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (BerthError, OSError, sqlite3.DatabaseError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        print("berth: error: " + " ".join(one_line(exc).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("berth: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
