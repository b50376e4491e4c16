"""``berth bm``: the FPGA block matcher for BM3D (spec: docs/blockmatch.md).

  berth bm match IMAGE   golden-model matches of an image (8-bit grayscale), and a PNG of one
                         reference block with its group
  berth bm sim           the RTL under cocotb (Verilator, Icarus) and a whole frame natively
  berth bm synth         Yosys synth_xilinx resource estimates per parameter set
  berth bm perf          frames per second at standard video sizes from the cycle model
  berth bm hls --out DIR a Vitis-HLS project of the kernel, C-simulated against the golden model
  berth bm denoise IMAGE BM3D denoising on the hardware matcher (--sigma S)
  berth bm study         PSNR and resources of each hardware saving; line-buffer bit errors

The pipelines are in ``berth.flows.blockmatch``; this module parses flags and prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from berth.commands.common import at_least, run_dir
from berth.core.errors import MAX_CHIPS, MAX_SEED, BerthError

OUT = Path("runs") / "bm"
MATCH_FLAGS = ("block", "window", "stride", "metric", "k", "tau")


def sigma(text: str) -> float:
    """An argparse type: a noise standard deviation in (0, 255] on the 0..255 scale."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 255:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not allowed; allowed: numbers in (0, 255]")
    return value


def add_match_params(parser: argparse.ArgumentParser, fields: tuple[str, ...] = MATCH_FLAGS,
                     k_help: str = "group size K, a power of two <= 32 (default 16)") -> None:
    """Flags for the block matcher's parameters (defaults: BM3D's hard-threshold stage)."""
    flags = {
        "block": dict(type=int, default=8, help="block side N1: 8 or 4 (default 8)"),
        "window": dict(type=int, default=39, help="search window side, odd (default 39)"),
        "stride": dict(type=int, default=3, help="reference stride (default 3)"),
        "metric": dict(default="ssd", help="ssd or sad (default ssd)"),
        "k": dict(type=int, default=16, help=k_help),
        "tau": dict(type=int, default=192_000, help="distance threshold, keep d < tau (default 192000)"),
        "pixel_bits": dict(type=int, default=8, help="matcher pixel bits (default 8)"),
    }
    for name in fields:
        parser.add_argument("--" + name.replace("_", "-"), **flags[name])


def match_params(args: argparse.Namespace):
    """The BMParams the match flags describe."""
    from berth.hardware.blockmatch import BMParams

    return BMParams(**{name: getattr(args, name) for name in MATCH_FLAGS})


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bm", help="FPGA block matching for BM3D: golden model, RTL simulation, synthesis",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bm = parser.add_subparsers(dest="bm_command", metavar="SUBCOMMAND", required=True)

    p = bm.add_parser("match", help="golden-model matches of an image, plus a PNG of one group")
    p.add_argument("image", metavar="IMAGE",
                   help="image file (PNG, PGM, ...; 8-bit grayscale, colour converted with the luma weights) or a "
                   "built-in stimulus such as china-s25")
    p.add_argument("--size", default=None, help="HxW crop of a built-in stimulus (default 256x256)")
    p.add_argument("--seed", type=at_least(0, MAX_SEED), default=0, help="noise seed of a built-in stimulus")
    p.add_argument("--ref", default=None, help="Y,X: plot the reference block nearest to this pixel "
                   "(default: the image centre)")
    p.add_argument("--out", default=str(OUT), help=f"output directory (default {OUT})")
    add_match_params(p)
    p.set_defaults(handler=run_match)

    p = bm.add_parser("sim", help="RTL == golden model: cocotb on Verilator and Icarus, and a native frame")
    p.add_argument("image", metavar="IMAGE", nargs="?",
                   help="simulate this image natively instead of the suite, with the --set parameters: a file "
                        "(8-bit grayscale, colour converted with the luma weights) or a built-in stimulus")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="with IMAGE: block, window, stride, metric, k, tau, p, d or g (repeatable; default "
                        "BM3D's hard-threshold stage, P = D = 13, G = 18)")
    p.add_argument("--size", default=None, help="HxW crop of a built-in stimulus IMAGE (default 256x256)")
    p.add_argument("--simulator", choices=("verilator", "icarus", "native", "all"), default=None,
                   help="the suite's simulators (default all); an IMAGE is simulated natively (Verilator)")
    p.add_argument("--seed", type=at_least(0, MAX_SEED), default=0, help="seed of noise, input gaps and back-pressure")
    p.add_argument("--every-image", action="store_true",
                   help="run every stimulus on every acceptance parameter set (Icarus; minutes)")
    p.add_argument("--out", default=str(OUT), help=f"results directory (default {OUT})")
    p.set_defaults(handler=run_sim)

    p = bm.add_parser("synth", help="Yosys synth_xilinx (7-series) LUT/FF/CARRY4/BRAM/DSP and longest path per parameter set")
    p.add_argument("--sets", choices=("small", "acceptance", "1080p-scaled", "1080p-p3", "1080p-p13", "1080p"), default="acceptance",
                   help="small: one quick set; acceptance: N1 x metric x K at the default window (default); "
                        "1080p: the 1080p configuration (an hour, 5.5 GB); 1080p-scaled: it at P = D = G = 3 (minutes); "
                        "1080p-p3: its D = 13 and G = 18 at P = 3; 1080p-p13: its P = 13 at D = G = 3")
    p.add_argument("--ice40", action="store_true",
                   help="instead: place and route the small iCE40 configuration with nextpnr-ice40 (HX8K), print Fmax")
    p.add_argument("--source", help="this Verilog file instead of the core (e.g. an earlier version, for a before/after)")
    p.add_argument("--out", default=str(OUT), help=f"results directory (default {OUT})")
    p.set_defaults(handler=run_synth)

    p = bm.add_parser("perf", help="fps at 640x480 .. 3840x2160 from the cycle model, beside the paper's figures")
    p.add_argument("--clock-mhz", type=float, default=250.0, help="clock frequency (default 250)")
    p.add_argument("--offset-rows", type=int, default=13, dest="p", metavar="P", help="offset rows per pass P (default 13)")
    p.add_argument("--offset-cols", type=int, default=13, dest="d", metavar="D",
                   help="offset columns per pass D (default 13)")
    p.add_argument("--group", type=int, default=18, dest="g", metavar="G", help="references per group G (default 18)")
    p.add_argument("--sim-results", default=None, type=Path,
                   help=f"measured cycles from 'berth bm sim' (its sim.json or sim-image.json) to check the model "
                        f"against (default {OUT / 'sim.json'}, when it exists)")
    add_match_params(p)
    p.set_defaults(handler=run_perf)

    p = bm.add_parser("hls", help="write a Vitis HLS project; g++ C-sim == golden; vendor synthesis if installed")
    p.add_argument("--out", required=True, help="project directory (created; an existing berth project is replaced)")
    p.add_argument("--image", help="stimulus: an 8-bit image file (sets the frame size); default: the china "
                   "photograph, 8-bit luma, 427x640")
    add_match_params(p)
    p.add_argument("--part", default="xc7z030sbg485-1", help="FPGA part for synthesis (default: Zynq-7030)")
    p.add_argument("--clock-ns", type=float, default=4.0, help="target clock period in ns (default 4)")
    p.add_argument("--no-csim", action="store_true", help="skip the g++ C simulation")
    p.add_argument("--synth", choices=("auto", "yes", "no"), default="auto",
                   help="vendor csynth: auto = when vitis-run/vitis_hls is on PATH (default), yes = required")
    p.add_argument("--store", default=str(OUT / "results.sqlite"),
                   help=f"results store for synthesis figures, table hls_synth (default {OUT / 'results.sqlite'})")
    p.set_defaults(handler=run_hls)

    p = bm.add_parser("denoise", help="BM3D (both stages) on the hardware block matcher: PNG and PSNR")
    p.add_argument("image", metavar="IMAGE", help="clean 8-bit image file (noise is added), or 'china'/'flower'")
    p.add_argument("--sigma", type=sigma, required=True, help="noise standard deviation on the 0..255 scale, in (0, 255]")
    p.add_argument("--noisy", action="store_true", help="IMAGE is already noisy: denoise it, no PSNR")
    p.add_argument("--seed", type=at_least(0, MAX_SEED), default=0, help="noise seed (default 0)")
    add_match_params(p, ("metric", "window", "stride", "k", "pixel_bits"),
                     k_help="stage-1 group size K; the Wiener stage uses 2K (default 16)")
    p.add_argument("--out", help="output directory (default runs/bm/denoise-<time>)")
    p.set_defaults(handler=run_denoise)

    p = bm.add_parser("study", help="PSNR per hardware saving beside resources; PSNR vs line-buffer bit errors")
    p.add_argument("--photos", nargs="+", default=["china", "flower"], help="sample photographs (default both)")
    p.add_argument("--crop", type=at_least(0, 4320), default=256, help="centre crop side in pixels, 0 = full image (default 256)")
    p.add_argument("--sigma", type=sigma, default=25.0, help="noise sigma in (0, 255] (default 25)")
    p.add_argument("--seed", type=at_least(0, MAX_SEED), default=0, help="noise seed (default 0)")
    p.add_argument("--p", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
                   help="line-buffer bit error rates (default 0 1e-4 1e-3 1e-2 3e-2 1e-1)")
    p.add_argument("--chips", type=at_least(1, MAX_CHIPS), default=3, help="simulated chips per error rate (default 3)")
    p.add_argument("--resources", choices=("auto", "no"), default="auto",
                   help="Yosys estimates per variant when yosys is installed (default auto)")
    p.add_argument("--out", help="output directory (default runs/bm/study-<time>)")
    p.set_defaults(handler=run_study)


def run_match(args: argparse.Namespace) -> int:
    from berth.flows.blockmatch import load_image, match_image

    params = match_params(args)
    ref = None
    if args.ref:
        try:
            ref = tuple(int(v) for v in args.ref.split(","))
        except ValueError:
            raise BerthError(f"--ref {args.ref!r} is not Y,X") from None
        if len(ref) != 2:
            raise BerthError(f"--ref {args.ref!r} is not Y,X")
    image = load_image(args.image, args.size, args.seed)
    run = match_image(image, params, Path(args.out), ref)
    result = run.result
    sizes = np.bincount(result.count, minlength=params.k + 1)
    print(f"{image.shape[0]}x{image.shape[1]} image, {len(result.refs)} reference blocks, "
          f"golden model {run.seconds:.2f} s")
    print("group sizes: " + ", ".join(f"{s}: {sizes[s]}" for s in range(1, params.k + 1) if sizes[s]))
    print(f"reference {tuple(int(v) for v in result.refs[run.reference])}: group of {result.count[run.reference]}")
    print(f"wrote {run.matches}, {run.png} and {run.png.with_suffix('.pdf')}")
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from berth.flows.blockmatch import load_image, simulate, simulate_image

    if args.image is None and (args.set or args.size):
        raise BerthError(f"{'--set' if args.set else '--size'} needs an IMAGE to simulate")
    if args.image is not None:
        if args.simulator not in (None, "native") or args.every_image:
            flag = "--every-image" if args.every_image else f"--simulator {args.simulator}"
            raise BerthError(f"{flag} is not allowed with IMAGE; allowed: --simulator native (an IMAGE is simulated "
                             "natively on Verilator; leave IMAGE out for the suite)")
        row, path = simulate_image(load_image(args.image, args.size, args.seed), args.set, Path(args.out))
        rows = [row]
    else:
        rows, path = simulate(args.simulator or "all", args.seed, args.every_image, Path(args.out))
    print(f"{'run':<44} {'result':<8} {'detail'}")
    for row in rows:
        print(f"{row['run']:<44} {'PASS' if row['passed'] else 'FAIL':<8} {row['detail']}")
    print(f"wrote {path}")
    return 0 if all(row["passed"] for row in rows) else 1


def run_synth(args: argparse.Namespace) -> int:
    from berth.flows.blockmatch import ice40_small, synthesize_sets
    from berth.hardware.blockmatch.synth import parts_table, table

    if args.ice40:
        r = ice40_small(Path(args.out), Path(args.source) if args.source else None)
        print(f"iCE40 HX8K (nextpnr-ice40, seed 1), {r.config}: Fmax {r.fmax_mhz:.2f} MHz, "
              f"{r.logic_cells} logic cells, {r.seconds:.0f} s")
        return 0

    results, path = synthesize_sets(args.sets, Path(args.out), Path(args.source) if args.source else None)
    print(table(results))
    for r in results:
        c = r.config
        print(f"\nwhere the cells go (P = {c['P']}, D = {c['D']}, G = {c['G']}, {c['W']}-pixel rows):")
        print(parts_table(r))
    print(f"wrote {path}")
    return 0


def run_perf(args: argparse.Namespace) -> int:
    from berth.flows.blockmatch import throughput_rows
    from berth.hardware.blockmatch.perf import PAPER, PREVIOUS, Units

    params = match_params(args)
    units = Units(args.p, args.d, args.g)
    note, rows = throughput_rows(params, units, args.clock_mhz, args.sim_results)
    print(f"P = {units.p} offset rows x D = {units.d} offset columns per pass ({units.lanes} column-sum lanes), "
          f"G = {units.g} references per group, at {args.clock_mhz:g} MHz; N1={params.block}, window "
          f"{params.window}, stride {params.stride}, K={params.k}; {note}")
    print(f"{'resolution':<11} {'cycles/frame':>13} {'fps':>8} {'back to back':>13} {'fps':>8} "
          f"{'line-buffer RAMB36':>19} {'lower bound':>12} {'dist/cycle for 30 fps':>22}")
    for t in rows:
        print(f"{t.resolution:<11} {t.cycles:>13} {t.fps:>8.2f} {t.period:>13} {t.fps_streaming:>8.2f} "
              f"{t.ramb36:>19g} {t.ramb36_bound:>12.2f} {t.distances_per_cycle_needed_30fps:>22.1f}")
    print("cycles/frame: one frame alone, first pixel to last record; back to back: cycles between the ends "
          "of consecutive frames streamed without a gap")
    print(f"paper ({PAPER['device']}, {PAPER['ramb36_available']} RAMB36): BRAM {PAPER['bram_share']}, other "
          f"resources {PAPER['other_resources_share']}, {PAPER['clock_mhz']['plain']} MHz plain / "
          f"{PAPER['clock_mhz']['optimised']} MHz optimised, ~{PAPER['distances_per_cycle_1080p30_at_250mhz']} "
          f"distances per cycle needed for 1080p30 at 250 MHz")
    print(f"previous core (one reference at a time, P = 8): {PREVIOUS['fps_1080p_p8']} fps at 1080p, "
          f"{PREVIOUS['dsp_p8']} DSP48E1, {PREVIOUS['lut_p8']} LUT")
    return 0


def run_hls(args: argparse.Namespace) -> int:
    from berth.core.progress import step
    from berth.flows.blockmatch import hls_project

    params = match_params(args)
    run = hls_project(Path(args.out), params, args.image, args.part, args.clock_ns, csim=not args.no_csim,
                      synth=args.synth, store=Path(args.store), say=step)
    print(f"wrote {run.project} ({run.shape[0]}x{run.shape[1]} frames, N1={params.block} window={params.window} "
          f"stride={params.stride} {params.metric.upper()} K={params.k} tau={params.tau})")
    if run.csim is not None:
        c = run.csim
        print(f"g++ C simulation: {c['references']} references in {c['csim_seconds']:.1f} s, "
              + ("bit-exact to the golden model" if c["bit_exact"]
                 else "DIFFERS from the golden model: " + "; ".join(c["differences"])))
    for note in run.notes:
        print(note)
    if run.synthesis is not None:
        r, res = run.synthesis, run.synthesis["resources"]
        print(f"csynth ({r['tool']}): latency {r['latency_best']}..{r['latency_worst']} cycles, interval "
              f"{r['interval_min']}..{r['interval_max']}, sweep II {r['sweep_ii']}, est. clock "
              f"{r['estimated_clock_ns']} ns; LUT {res['LUT']} FF {res['FF']} BRAM_18K {res['BRAM_18K']} "
              f"DSP {res['DSP']} -> {run.project / 'results' / 'csynth.json'} and {args.store} (table hls_synth)")
    return 0 if run.csim is None or run.csim["bit_exact"] else 1


def run_denoise(args: argparse.Namespace) -> int:
    from berth.flows.blockmatch import denoise

    out = Path(args.out) if args.out else run_dir(OUT, "denoise")
    rec = denoise(args.image, args.sigma, out, noisy_input=args.noisy, seed=args.seed, metric=args.metric,
                  window=args.window, stride=args.stride, k=args.k, pixel_bits=args.pixel_bits)
    h, w = rec["shape"]
    if args.noisy:
        print(f"denoised {h}x{w} at sigma {args.sigma:g} in {rec['seconds']:.1f} s (no clean image: no PSNR)")
    else:
        print(f"PSNR {rec['psnr_db']:.2f} dB (noisy {rec['noisy_db']:.2f}, basic estimate "
              f"{rec['basic_db']:.2f}), sigma {args.sigma:g}, seed {args.seed}, {rec['seconds']:.1f} s")
    images = "denoised.png, basic.png (the first stage's estimate)" + ("" if args.noisy else ", noisy.png")
    print(f"wrote {out}/: {images} and result.json")
    return 0


def run_study(args: argparse.Namespace) -> int:
    from berth.hardware.bm3d.study import run_study as study

    out = Path(args.out) if args.out else run_dir(OUT, "study")
    result = study(out, photos=args.photos, crop=args.crop, sigma=args.sigma, seed=args.seed, ps=args.p,
                   chips=args.chips, resources=args.resources == "auto")
    print(result["table"])
    print(result["errors_table"])
    print(f"wrote {out}/study.json, study.md, study.png/.pdf, errors.png/.pdf")
    return 0
