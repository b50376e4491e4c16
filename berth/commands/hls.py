"""``berth hls``: turn a model into an hls4ml HLS project whose C simulation is bit-exact.

  export MODEL_OR_CHECKPOINT --out DIR   convert + compile the C simulation (g++ only)
  verify DIR                             C simulation vs software model on N test inputs
  inject DIR --chip K --p P              bit errors in the project's weight files vs software
  build DIR                              vendor C synthesis (vitis-run / vivado_hls)
  report PATH                            a synthesis report (project, report folder or csynth.xml):
                                         top and every layer instance into the results store

MODEL_OR_CHECKPOINT is a berth checkpoint or sweep model file (any Brevitas model with fixed-point
quantizers), a QONNX file (``*.onnx``, as Brevitas' export_qonnx writes it: verify then compares
with qonnx's own execution of the graph), or a zoo model name: then a hardware model (hw = true,
scheme "fixed") is trained quickly on the data set first. Results go to the workspace store
(--store, else $BERTH_STORE, else runs/berth.sqlite). Settings come from a TOML
file (``--config``) and ``--set key=value``: the ``[target]`` table (part, clock_period,
io_type, strategy, reuse_factor, backend, memory_word_bits, csim_opt, hls4ml = pass-through
model keys), per-layer tables ``[target.layers.NAME]`` by berth's layer name (weight, bias,
accum, result = precisions such as "fixed<24,6>"; reuse_factor; strategy; hls4ml = pass-through
layer keys) and, for a zoo name, the ``[model]`` table (scheme, bits, act_bits, epochs, seed, arch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from berth.commands.common import add_config_args, add_store_arg, at_least, printed_config
from berth.core.errors import MAX_SEED


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("hls", help="export to an hls4ml project; verify, inject bit errors, synthesize",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    hls = parser.add_subparsers(dest="hls_command", metavar="ACTION", required=True)

    p = hls.add_parser("export", help="export a checkpoint, QONNX file or zoo model and compile its C simulation")
    p.add_argument("model", metavar="MODEL_OR_CHECKPOINT")
    p.add_argument("--out", required=True, metavar="DIR", help="project directory to create")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    add_store_arg(p, "runs/berth.sqlite, or $BERTH_STORE")
    add_config_args(p, example="target.reuse_factor=4")
    p.set_defaults(handler=run_export)

    p = hls.add_parser("verify", help="C simulation vs software model on N test inputs (must match 100%%)")
    p.add_argument("project", metavar="DIR")
    p.add_argument("--n", type=at_least(1), default=None,
                   help="number of test inputs (default 200, or the whole test set when it is smaller)")
    p.set_defaults(handler=run_verify)

    p = hls.add_parser("inject", help="bit errors of chip K at rate P (random, stuck-at or a profiled map) in the "
                       "hardware weights vs software")
    p.add_argument("project", metavar="DIR")
    p.add_argument("--chip", type=at_least(0, MAX_SEED), nargs="+", required=True, metavar="K", help="chip seed(s)")
    p.add_argument("--p", type=float, required=True, help="bit error rate per weight bit, in [0, 1]")
    p.add_argument("--kind", default="random", choices=("random", "stuck_at", "profiled"),
                   help="fault model, as in a sweep's [[errors]] (default random)")
    p.add_argument("--value", default="random", help="stuck_at: the value stuck cells read, 0, 1 or random")
    p.add_argument("--maps", nargs="+", default=[], metavar="MAP.npy",
                   help="profiled: chip maps (chip K is the K-th file), shape (words, --word-width)")
    p.add_argument("--word-width", type=at_least(1), default=32, help="profiled: memory word width (default 32)")
    p.add_argument("--map-kind", default="prob", choices=("prob", "stuck"),
                   help="profiled: per-bit error probabilities (prob, default) or stuck values")
    p.add_argument("--n", type=at_least(1), default=None,
                   help="number of test inputs (default 200, or the whole test set when it is smaller)")
    add_store_arg(p, "runs/berth.sqlite, or $BERTH_STORE")
    p.set_defaults(handler=run_inject)

    p = hls.add_parser("build", help="run vendor C synthesis (needs vitis-run or vivado_hls)")
    p.add_argument("project", metavar="DIR")
    p.set_defaults(handler=run_build)

    p = hls.add_parser("report", help="file a synthesis report (top and every layer instance) in the results store, "
                       "checked against the project's part and clock")
    p.add_argument("path", metavar="PATH", help="a berth HLS project, a report folder (<prj>/solution1/syn/report) "
                   "or a *_csynth.xml file")
    add_store_arg(p, "runs/berth.sqlite, or $BERTH_STORE")
    p.set_defaults(handler=run_report)


def run_export(args: argparse.Namespace) -> int:
    from berth.core.config import load_config
    from berth.flows.hls import HlsExportConfig, export

    cfg = load_config(HlsExportConfig, args.config, args.overrides)
    if printed_config(args, cfg):
        return 0
    project, cost = export(args.model, Path(args.out), cfg, args.force, args.store, print)
    print(f"cost: {cost['macs']} MACs, {cost['weight_bits']} weight bits, {cost['bops']} bit-operations, "
          f"{cost['memory_words']} words of {cost['memory_word_bits']} bits")
    res = cost["resources"]
    print(f"estimated without the vendor tool (weight layers): LUT {res['LUT']}, FF {res['FF']}, DSP {res['DSP']}, "
          f"BRAM_18K {res['BRAM_18K']}")
    print(f"project: {project.root}")
    print(f"next: berth hls verify {project.root}")
    return 0


def _software_side(project) -> str:
    """What a project's C simulation is compared with."""
    return "qonnx's execution of the graph" if project.meta.get("source") == "qonnx" else "software model"


def run_verify(args: argparse.Namespace) -> int:
    from berth.flows.hls import verify

    project, res = verify(args.project, args.n)
    print(f"C simulation vs {_software_side(project)} on {res.n} {project.meta['dataset']} test inputs:")
    print(f"  exact match {res.exact_match * 100:.2f}%   max |diff| {res.max_abs_diff:.6g}   "
          f"argmax agreement {res.argmax_agreement * 100:.2f}%")
    print(f"  error on these inputs: C-sim {res.hw_error * 100:.2f}%, software {res.sw_error * 100:.2f}%")
    print(f"  C-sim {res.n / res.csim_s:.0f} inputs/s, software {res.n / res.software_s:.0f} inputs/s")
    if res.exact_match < 1.0:
        print("NOT bit-exact")
        return 1
    print(f"next: berth hls inject {args.project} --chip 0 1 2 --p 0.01")
    return 0


def run_inject(args: argparse.Namespace) -> int:
    from berth.core.store import workspace_store
    from berth.flows.hls import inject

    spec = {"kind": args.kind, "value": int(args.value) if args.value in ("0", "1") else args.value,
            "maps": args.maps, "word_width": args.word_width, "map_kind": args.map_kind, "seed": 0}
    project, results = inject(args.project, args.p, args.chip, args.n, args.store, spec)
    n = results[0].comparison.n  # --chip names at least one chip
    print(f"{args.kind} bit errors p = {args.p:g}, {n} inputs: C simulation (perturbed weight files) vs "
          f"{_software_side(project)}")
    print(f"{'chip':>5} {'codes hit':>9} {'exact %':>8} {'max|diff|':>10} {'argmax %':>9} {'hw err %':>9} {'sw err %':>9}")
    for r in results:
        c = r.comparison
        print(f"{r.chip:>5} {r.flipped_codes:>9} {c.exact_match * 100:>8.2f} {c.max_abs_diff:>10.4g} "
              f"{c.argmax_agreement * 100:>9.2f} {c.hw_error * 100:>9.2f} {c.sw_error * 100:>9.2f}")
    exact = all(r.comparison.exact_match == 1.0 for r in results)
    print(f"stored in table hls_inject of {workspace_store(args.store)}"
          + (f"; next: berth hls build {args.project}   (vendor synthesis, where installed)" if exact else ""))
    return 0 if exact else 1


def run_build(args: argparse.Namespace) -> int:
    from berth.hardware.hls4ml.synth import build_project

    xml = build_project(args.project)
    print(f"synthesis report: {xml}")
    return 0


def _cells(row: dict) -> str:
    lat = "-" if row["latency_best"] is None else f"{row['latency_best']}..{row['latency_worst']}"
    return (f"{lat:>15} {row['lut'] if row['lut'] is not None else '-':>8} {row['ff'] if row['ff'] is not None else '-':>8} "
            f"{row['dsp'] if row['dsp'] is not None else '-':>5} {row['bram_18k'] if row['bram_18k'] is not None else '-':>5}")


def run_report(args: argparse.Namespace) -> int:
    from berth.flows.hls import report

    rep = report(args.path, args.store)
    row = rep.top
    print(f"{row['top']} on {row['part']}: latency {row['latency_best']}..{row['latency_worst']} cycles, "
          f"II {row['interval_min']}..{row['interval_max']}, clock {row['estimated_clock_ns']} ns "
          f"(target {row['target_clock_ns']}), LUT {row['lut']}, FF {row['ff']}, DSP {row['dsp']}, "
          f"BRAM_18K {row['bram_18k']}")
    if rep.mismatch:
        print(f"WARNING: {rep.mismatch}")
    if rep.over_use:
        print(f"OVER THE PART: {', '.join(rep.over_use)}")
    if rep.modules:
        width = max(len(m["module"]) for m in rep.modules)
        print(f"{'module':<{width}} {'layer':<14} {'latency':>15} {'LUT':>8} {'FF':>8} {'DSP':>5} {'BRAM':>5}")
        for m in rep.modules:
            print(f"{m['module']:<{width}} {m['layer'] or '-':<14} {_cells(m)}")
            est = rep.estimates.get(m["layer"])
            if est:
                print(f"{'':<{width}} {'  estimated':<14} {'':>15} {est['LUT']:>8} {est['FF']:>8} {est['DSP']:>5} "
                      f"{est['BRAM_18K']:>5}")
    print(f"report: {row['path']} ({len(rep.modules)} sub-module reports filed)")
    return 0
