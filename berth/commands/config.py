"""``berth config [COMMAND]``: every setting a command takes, generated from its typed config.

For each key (nested tables as ``table.key``): its type, default, allowed values and meaning.
Set keys in a TOML file (``--config FILE``) or one by one (``--set key=value``); the file beats
the defaults and ``--set`` beats the file. ``COMMAND --print-config`` prints the resolved
settings of one run as TOML.
"""

from __future__ import annotations

import argparse
import importlib

# The command whose settings each typed config holds: (module, class).
CONFIGS = {
    "eval": ("berth.flows.evaluate", "EvalConfig"),
    "train": ("berth.flows.train", "TrainCommandConfig"),
    "hls export": ("berth.flows.hls", "HlsExportConfig"),
    "search": ("berth.flows.search", "SearchConfig"),
    "sweep": ("berth.flows.sweep", "Sweep"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="every setting of a command: type, default, allowed values, meaning",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="*", metavar="COMMAND", help=f"one of: {', '.join(CONFIGS)} (default: all)")
    p.set_defaults(handler=run)


def config_class(command: str) -> type:
    """The typed config of ``command``."""
    module, name = CONFIGS[command]
    return getattr(importlib.import_module(module), name)


def run(args: argparse.Namespace) -> int:
    from berth.core.config import reference
    from berth.core.errors import check_choice

    wanted = " ".join(args.command)
    if wanted:
        check_choice("command", wanted, tuple(CONFIGS))
    for command in [wanted] if wanted else list(CONFIGS):
        rows = reference(config_class(command))
        print(f"berth {command}: {len(rows)} settings")
        width = max(len(r["key"]) for r in rows)
        for r in rows:
            allowed = f"; one of {r['allowed']}" if r["allowed"] else ""
            print(f"  {r['key']:<{width}}  {r['type']} = {r['default']}{allowed}  {r['meaning']}")
        print()
    return 0
