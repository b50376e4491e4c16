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
        where = "" if self.prog == "berth" else f"{self.prog}: "  # the top level is named by the prefix
        self.exit(2, f"berth: error: {where}{message} (see '{self.prog} --help')\n")

    def format_help(self) -> str:
        """Help as plain text: the docstrings' ``code`` markup reads as code without the backticks."""
        return super().format_help().replace("``", "")


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
    describe_subcommands(parser)
    for leaf in leaf_parsers(parser):
        if "--quiet" not in leaf._option_string_actions:
            leaf.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        if "--config" not in leaf._option_string_actions:
            leaf.add_argument("--config", metavar="FILE", help="TOML file of this command's flags (names with _, "
                              "e.g. repeats = 20); flags given on the command line win")
            leaf.add_argument("--print-config", action="store_true",
                              help="print the resolved flags as TOML (ready for --config) and stop")
            leaf.set_defaults(flag_config=leaf)
    return parser


def describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand without a description its one-line help as description."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                if not child.description and helps.get(name):
                    text = helps[name].replace("%%", "%")  # a help string is %-formatted, a description is not
                    child.description = text[0].upper() + text[1:] + "."
                describe_subcommands(child)


FLAG_SKIP = {"help", "config", "print_config", "quiet"}


def flag_actions(leaf: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The optional flags of a command that a flags file may set, by destination name."""
    return {a.dest: a for a in leaf._actions if a.option_strings and a.dest not in FLAG_SKIP}


def with_flags_file(parser: argparse.ArgumentParser, argv: list[str] | None,
                    args: argparse.Namespace) -> argparse.Namespace:
    """For a command without a typed config: defaults < ``--config`` flags file < command line."""
    import difflib

    from berth.core.config import file_error, read_toml

    leaf = args.flag_config
    if not args.config:
        return args
    actions = flag_actions(leaf)
    data = read_toml(args.config)
    for key, value in data.items():
        if key not in actions:
            close = difflib.get_close_matches(key, list(actions), n=1)
            raise file_error(args.config, BerthError(
                f"{args.config}: unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                + f"; allowed: {', '.join(actions) or 'none (this command has no flags a file can set)'}"))
        choices = actions[key].choices
        if choices is not None and value not in choices:
            raise file_error(args.config, BerthError(
                f"{args.config}: {key} = {value!r} is not allowed; allowed: {', '.join(map(str, choices))}"))
    leaf.set_defaults(**data)
    return parser.parse_args(argv)


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
        hint = {errno.ENOSPC: "free some space or write elsewhere",
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


class Terminated(BaseException):
    """SIGTERM arrived: unwind (closing stores, ending workers) and exit."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    import signal
    import warnings

    signal.signal(signal.SIGTERM, _terminate)
    warnings.filterwarnings("ignore", module=QUIET_PACKAGES)  # third-party notices a user cannot act on
    parser = build_parser()
    args = parser.parse_args(argv)
    set_quiet(args.quiet)
    try:
        if getattr(args, "flag_config", None) is not None:
            args = with_flags_file(parser, argv, args)
            if args.print_config:
                from berth.core.config import to_toml

                print(to_toml({k: getattr(args, k) for k in flag_actions(args.flag_config)}), end="")
                return 0
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
    except Terminated:
        print("berth: terminated; what was stored stays, rerun to continue", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
