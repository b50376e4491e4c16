"""``berth results STORE``: list, filter and export what a results store holds.

Without options, lists the training runs in the store. ``--table`` picks what to show
(``results``: one row per run, p and chip, with the run's settings; or ``runs``, ``evals``,
``sweeps``, ``robustness`` or any table another subsystem added); ``--where key=value`` filters
(repeatable; a comma-separated value means any of them); ``--csv FILE`` / ``--json FILE`` export
(``-`` for standard output).
"""

from __future__ import annotations

import argparse

LIST_COLUMNS = ("sweep", "label", "model", "scheme", "bits", "method", "w_max", "seed", "clean_error", "train_s", "run_id")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("results", help="list, filter and export a results store (CSV/JSON)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", metavar="STORE", help="results store (results.sqlite of a sweep)")
    parser.add_argument("--table", default=None, help="table or view to show (default: a list of runs)")
    parser.add_argument("--where", metavar="KEY=VALUE", action="append", default=[],
                        help="keep rows whose KEY equals VALUE (comma-separated: any of them); repeatable")
    parser.add_argument("--csv", metavar="FILE", default=None, help="export the rows as CSV ('-' = stdout)")
    parser.add_argument("--json", metavar="FILE", default=None, help="export the rows as JSON ('-' = stdout)")
    parser.set_defaults(handler=run)


def parse_where(items: list[str]) -> dict[str, object]:
    """``["bits=8", "label=a,b"]`` -> ``{"bits": 8, "label": ["a", "b"]}`` (numbers parsed)."""
    from berth.core.errors import BerthError

    def value(text: str) -> object:
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                continue
        return text

    out: dict[str, object] = {}
    for item in items:
        if "=" not in item:
            raise BerthError(f"--where {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        parts = [value(v) for v in raw.split(",")]
        out[key.strip()] = parts if len(parts) > 1 else parts[0]
    return out


def run(args: argparse.Namespace) -> int:
    from berth.core.store import Store

    with Store(args.store, read_only=True) as store:
        table = args.table or "runs"
        rows = store.query(table, parse_where(args.where))
        if args.csv or args.json:
            if args.csv:
                export(rows, args.csv, "csv")
            if args.json:
                export(rows, args.json, "json")
            return 0
        if args.table:
            print_rows(rows, list(rows[0]) if rows else [])
        else:
            print_rows(rows, list(LIST_COLUMNS))
        print(f"{len(rows)} rows in {table} of {args.store}")
    return 0


def export(rows: list[dict], target: str, fmt: str) -> None:
    """Write rows as CSV or JSON to a file (atomically) or to stdout."""
    import csv
    import io
    import json
    import sys

    from berth.core.files import atomic_write_text

    if fmt == "json":
        text = json.dumps(rows, indent=1, default=str) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
        text = buf.getvalue()
    if target == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(target, text)
        print(f"wrote {len(rows)} rows to {target}", file=sys.stderr)


def print_rows(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned text table of ``columns``."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, (dict, list)):
            return "…"
        return "" if v is None else str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
