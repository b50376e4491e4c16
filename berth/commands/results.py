"""``berth results STORE``: what a results store holds, as tables a researcher can take away.

Without options: RErr per run, error model and bit error rate in percent, with the 95% bootstrap
interval over chips the reports print. ``--table`` shows one table or view as stored (``runs``,
``evals``, ``robustness``, ``results``: one row per run, p and chip with the run's settings,
``hls_synth``, ``latency``, ...); ``--where key=value`` filters (repeatable; a comma-separated
value means any of them). ``--out FILE --format csv|json|parquet`` exports the rows tidy, long-form
(``-`` = standard output for csv and json; ``--csv FILE`` / ``--json FILE`` are short for it); in
Python, ``berth.results.load(store)`` and ``berth.results.summary(store)`` give the same tables as
pandas DataFrames.
"""

from __future__ import annotations

import argparse
import sys

LIST_COLUMNS = ("sweep", "label", "model", "scheme", "bits", "method", "w_max", "seed", "clean_error", "train_s", "run_id")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("results", help="RErr with intervals; list, filter and export a results store",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", metavar="STORE", help="a berth results store (e.g. runs/berth.sqlite, the workspace's)")
    parser.add_argument("--table", default=None, help="table or view to show as stored (default: the RErr summary)")
    parser.add_argument("--where", metavar="KEY=VALUE", action="append", default=[],
                        help="keep rows whose KEY equals VALUE (comma-separated: any of them); repeatable")
    parser.add_argument("--out", metavar="FILE", default=None, help="export the rows to FILE ('-' = stdout)")
    parser.add_argument("--format", default="csv", choices=("csv", "json", "parquet"),
                        help="export format of --out (default csv)")
    parser.add_argument("--csv", metavar="FILE", default=None, help="short for --out FILE --format csv")
    parser.add_argument("--json", metavar="FILE", default=None, help="short for --out FILE --format json")
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
    import berth.results as results

    where = parse_where(args.where)
    exports = [(target, fmt) for target, fmt in ((args.out, args.format), (args.csv, "csv"), (args.json, "json"))
               if target]
    if exports:
        df = results.load(args.store, args.table or "results", where)
        for target, fmt in exports:
            path = results.write(df, target, fmt)
            if path:
                print(f"wrote {len(df)} rows to {path}", file=sys.stderr)
        return 0
    if args.table:
        df = results.load(args.store, args.table, where)
        print_rows(df.to_dict("records"), list(df.columns))
        print(f"{len(df)} rows in {args.table} of {args.store}")
        return 0
    summary = results.summary(args.store, where)
    if summary.empty:
        runs = results.load(args.store, "runs", where)
        print_rows(runs.to_dict("records"), list(LIST_COLUMNS))
        print(f"{len(runs)} rows in runs of {args.store} (no robustness results yet)")
        return 0
    print_summary(summary)
    print(f"{len(summary)} rows (run x error model x p) of {args.store}; rows as stored: --table results")
    return 0


def print_summary(df) -> None:
    """Err and RErr in percent with the 95% interval over chips, one line per run, errors and p."""
    rows = [{"label": r.label, "model": r.model, "bits": r.bits, "seed": r.seed, "errors": r.errors,
             "p %": f"{r.p * 100:g}", "Err %": f"{r.clean_error * 100:.2f}",
             "RErr % [95% CI]": f"{r.rerr_mean * 100:.2f} [{r.ci_low * 100:.2f}, {r.ci_high * 100:.2f}]",
             "chips": r.chips} for r in df.itertuples()]
    print_rows(rows, list(rows[0]))


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
