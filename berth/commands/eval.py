"""``berth eval``: train a small model per scheme, then measure clean and robust error over chips.

A QONNX file (``model = "net.onnx"``, as Brevitas' export_qonnx writes it) is measured as it is:
not trained, its own quantizers fix its codes, qonnx executes it with each chip's flips; its run in
the store joins ``berth hls export`` of the same file in ``berth pareto`` / ``select``.

The main job on the embedded default data (scikit-learn's digits, no download). Results are
printed as a table and saved as JSON (with the resolved config, seeds, versions and machine).
"""

from __future__ import annotations

import argparse

from berth.commands.common import add_config_args, add_store_arg, data_flags, printed_config, run_dir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="train per scheme, report clean and robust error over chips",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser, example="'p=[0.01, 0.025]'")
    add_store_arg(parser, "runs/berth.sqlite, or $BERTH_STORE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from berth.core.config import given_keys, load_config
    from berth.flows.evaluate import EvalConfig, evaluate, save
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file

    from berth.core.files import check_writable

    cfg = load_config(EvalConfig, args.config, args.overrides)
    if printed_config(args, cfg):
        return 0
    folder = run_dir(cfg.out, "eval")
    check_writable(folder.parent, keep=False)  # before any training; the run's folder appears with its results
    out = folder / "results.json"
    rows, data = evaluate(cfg, print, args.store, given_keys(args.config, args.overrides))
    print_table(cfg, rows)
    out = save(cfg, rows, data, out)
    print(f"results: {out}")
    if is_qonnx_file(cfg.model):
        print(f"next: berth hls export {cfg.model}{data_flags(cfg.dataset, cfg.data_dir)}   (the same file as an HLS "
              "project, its cost in the store)")
    else:
        print("next: berth sweep   (every scheme and method, with chips, intervals, report and store)")
    return 0


def print_table(cfg, rows: list[dict]) -> None:
    """Clean error and RErr (mean ± std, worst) in percent, one line per (scheme, p)."""
    bits = rows[0]["bits"] if rows else cfg.bits
    print(f"\n{cfg.model}, {bits}-bit weights, {cfg.chips} chips per p, {cfg.dataset} test set")
    print(f"{'scheme':<10} {'p':>8} {'Err %':>7} {'RErr % mean ± std':>20} {'worst %':>8}")
    for r in rows:
        print(f"{r['scheme']:<10} {r['p'] * 100:>7.2f}% {r['clean_error'] * 100:>7.2f} "
              f"{r['rerr_mean'] * 100:>12.2f} ± {r['rerr_std'] * 100:<5.2f} {r['rerr_worst'] * 100:>8.2f}")
