"""``berth bm``: the FPGA block matcher for BM3D (spec: docs/blockmatch.md).

  berth bm match IMAGE   golden-model matches of an 8-bit grayscale image, and a PNG of one
                         reference block with its group
  berth bm sim           the RTL under cocotb (Verilator, Icarus) and a whole frame natively
  berth bm synth         Yosys synth_xilinx resource estimates per parameter set
  berth bm perf          frames per second at standard video sizes from the cycle model
  berth bm hls --out DIR a Vitis-HLS project of the kernel, C-simulated against the golden model
  berth bm denoise IMAGE BM3D denoising on the hardware matcher (--sigma S)
  berth bm study         PSNR and resources of each hardware saving; line-buffer bit errors
"""

from __future__ import annotations

import argparse
from pathlib import Path

from berth.errors import BerthError

OUT = Path("runs") / "bm"


def add_match_params(parser: argparse.ArgumentParser) -> None:
    """Flags for every BMParams field (defaults: BM3D's hard-threshold stage)."""
    parser.add_argument("--block", type=int, default=8, help="block side N1: 8 or 4 (default 8)")
    parser.add_argument("--window", type=int, default=39, help="search window side, odd (default 39)")
    parser.add_argument("--stride", type=int, default=3, help="reference stride (default 3)")
    parser.add_argument("--metric", default="ssd", help="ssd or sad (default ssd)")
    parser.add_argument("--k", type=int, default=16, help="group size, a power of two <= 32 (default 16)")
    parser.add_argument("--tau", type=int, default=192_000, help="distance threshold, keep d < tau (default 192000)")


def match_params(args: argparse.Namespace):
    from hardware.blockmatch import BMParams

    return BMParams(block=args.block, window=args.window, stride=args.stride, metric=args.metric, k=args.k,
                    tau=args.tau)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bm", help="FPGA block matching for BM3D: golden model, RTL simulation, synthesis",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bm = parser.add_subparsers(dest="bm_command", metavar="SUBCOMMAND", required=True)

    p = bm.add_parser("match", help="golden-model matches of an image, plus a PNG of one group")
    p.add_argument("image", metavar="IMAGE",
                   help="8-bit grayscale image file (PNG, PGM, ...) or a built-in stimulus such as china-s25")
    p.add_argument("--size", default="256x256", help="HxW crop of a built-in stimulus (default 256x256)")
    p.add_argument("--seed", type=int, default=0, help="noise seed of a built-in stimulus")
    p.add_argument("--ref", default=None, help="Y,X: plot the reference block nearest to this pixel "
                   "(default: the image centre)")
    p.add_argument("--out", default=str(OUT), help=f"output directory (default {OUT})")
    add_match_params(p)
    p.set_defaults(handler=run_match)

    p = bm.add_parser("sim", help="RTL == golden model: cocotb on Verilator and Icarus, and a native frame")
    p.add_argument("--simulator", choices=("verilator", "icarus", "native", "all"), default="all")
    p.add_argument("--seed", type=int, default=0, help="seed of noise, input gaps and back-pressure")
    p.add_argument("--every-image", action="store_true",
                   help="run every stimulus on every acceptance parameter set (Icarus; minutes)")
    p.add_argument("--out", default=str(OUT), help=f"results directory (default {OUT})")
    p.set_defaults(handler=run_sim)

    p = bm.add_parser("synth", help="Yosys synth_xilinx (7-series) LUT/FF/CARRY4/BRAM/DSP per parameter set")
    p.add_argument("--sets", choices=("small", "acceptance"), default="acceptance",
                   help="small: one quick set; acceptance: N1 x metric x K at the default window (default)")
    p.add_argument("--out", default=str(OUT), help=f"results directory (default {OUT})")
    p.set_defaults(handler=run_synth)

    p = bm.add_parser("perf", help="fps at 640x480 .. 3840x2160 from the cycle model, beside the paper's figures")
    p.add_argument("--clock-mhz", type=float, default=250.0, help="clock frequency (default 250)")
    p.add_argument("--p", type=int, default=8, help="parallel distance units P (default 8)")
    p.add_argument("--sim-results", default=str(OUT / "sim.json"),
                   help="measured cycles from 'berth bm sim' to check the model against")
    add_match_params(p)
    p.set_defaults(handler=run_perf)

    from berth.commands.bm_hls import register_bm

    register_bm(bm)


def load_image(spec: str, size: str, seed: int):
    """An image file (must be 8-bit grayscale) or a built-in stimulus name."""
    import numpy as np

    from hardware.blockmatch.stimuli import ALL_STIMULI, stimulus

    path = Path(spec)
    if not path.exists():
        try:
            h, w = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise BerthError(f"--size {size!r} is not HxW, e.g. 256x256") from None
        if spec.split("-s")[0] not in {s.split("-s")[0] for s in ALL_STIMULI}:
            raise BerthError(f"IMAGE {spec!r} is neither a file nor a built-in stimulus "
                             f"({', '.join(ALL_STIMULI)})")
        return stimulus(spec, h, w, seed)
    from PIL import Image

    try:
        img = Image.open(path)
    except OSError as exc:
        raise BerthError(f"cannot read image {path}: {exc}") from None
    if img.mode != "L":
        raise BerthError(f"image {path} has mode {img.mode!r}; need 8-bit grayscale (mode 'L')")
    return np.asarray(img, dtype=np.uint8)


def run_match(args: argparse.Namespace) -> int:
    import io
    import time

    import numpy as np

    from berth.fsutil import atomic_write_bytes
    from hardware.blockmatch import block_match
    from hardware.blockmatch.plot import nearest_reference, plot_matches

    params = match_params(args)
    image = load_image(args.image, args.size, args.seed)
    start = time.perf_counter()
    result = block_match(image, params)
    seconds = time.perf_counter() - start
    out = Path(args.out)
    y, x = (image.shape[0] // 2, image.shape[1] // 2)
    if args.ref:
        try:
            y, x = (int(v) for v in args.ref.split(","))
        except ValueError:
            raise BerthError(f"--ref {args.ref!r} is not Y,X") from None
    index = nearest_reference(result, y, x)
    buf = io.BytesIO()
    np.savez_compressed(buf, refs=result.refs, offsets=result.offsets, dist=result.dist, count=result.count)
    matches = atomic_write_bytes(out / "matches.npz", buf.getvalue())
    png = plot_matches(image, result, params, index, out / "matches.png")
    sizes = np.bincount(result.count, minlength=params.k + 1)
    print(f"{image.shape[0]}x{image.shape[1]} image, {len(result.refs)} reference blocks, "
          f"golden model {seconds:.2f} s")
    print("group sizes: " + ", ".join(f"{s}: {sizes[s]}" for s in range(1, params.k + 1) if sizes[s]))
    print(f"reference {tuple(int(v) for v in result.refs[index])}: group of {result.count[index]}")
    print(f"wrote {matches} and {png}")
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from berth.fsutil import atomic_write_json
    from sim.suite import simulate_all

    rows = simulate_all(args.simulator, args.seed, args.every_image)
    path = atomic_write_json(Path(args.out) / "sim.json", rows)
    print(f"{'run':<44} {'result':<8} {'detail'}")
    for row in rows:
        print(f"{row['run']:<44} {'PASS' if row['passed'] else 'FAIL':<8} {row['detail']}")
    print(f"wrote {path}")
    return 0 if all(row["passed"] for row in rows) else 1


def run_synth(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from berth.fsutil import atomic_write_json
    from hardware.blockmatch.synth import SETS, synthesize, table

    out = Path(args.out)
    results = []
    for i, cfg in enumerate(tqdm(SETS[args.sets], desc="yosys synth_xilinx", unit="set")):
        results.append(synthesize(cfg, out / "synth" / f"set{i}-{cfg.tag()}"))
    path = atomic_write_json(out / "synth.json", [r.row() for r in results])
    print(table(results))
    print(f"wrote {path}")
    return 0


def run_perf(args: argparse.Namespace) -> int:
    import json

    from berth.errors import check_range
    from hardware.blockmatch.perf import PAPER, cycles_per_frame, throughput

    params = match_params(args)
    check_range("clock MHz", args.clock_mhz, 1, 2000)
    check_range("parallel units P", args.p, 1, params.window)
    scale, note = 1.0, "cycle model only (run 'berth bm sim' to check it against a simulated frame)"
    sim_path = Path(args.sim_results)
    if sim_path.exists():
        native = [r for r in json.loads(sim_path.read_text()) if r.get("cycles")]
        for r in native:
            model = cycles_per_frame(r["h"], r["w"], params, args.p)
            if r["params"] == {k: getattr(params, k) for k in r["params"]} and r["p"] == args.p:
                scale = r["cycles"] / model
                note = f"simulated {r['h']}x{r['w']} frame: {r['cycles']} cycles, model {model} (x{scale:.4f})"
    print(f"P = {args.p} distance units at {args.clock_mhz:g} MHz, N1={params.block}, window {params.window}, "
          f"stride {params.stride}, K={params.k}; {note}")
    print(f"{'resolution':<11} {'cycles/frame':>13} {'fps':>8} {'line-buffer RAMB36':>19} "
          f"{'dist/cycle for 30 fps':>22} {'P for 30 fps':>13}")
    for t in throughput(params, args.p, args.clock_mhz, scale):
        units = t.units_for_30fps if t.units_for_30fps else "> window"
        print(f"{t.resolution:<11} {t.cycles:>13} {t.fps:>8.2f} {t.ramb36:>19g} "
              f"{t.distances_per_cycle_needed_30fps:>22.1f} {units:>13}")
    print(f"paper ({PAPER['device']}, {PAPER['ramb36_available']} RAMB36): BRAM {PAPER['bram_share']}, other "
          f"resources {PAPER['other_resources_share']}, {PAPER['clock_mhz']['plain']} MHz plain / "
          f"{PAPER['clock_mhz']['optimised']} MHz optimised, ~{PAPER['distances_per_cycle_1080p30_at_250mhz']} "
          f"distances per cycle needed for 1080p30 at 250 MHz")
    return 0
