"""``berth bm hls | denoise | study``: the HLS kernel, BM3D on the hardware matcher, and what
each hardware saving costs in dB.

  berth bm hls --out DIR       a complete Vitis HLS project for one parameter set; g++ C
                               simulation checked bit for bit against the golden model; vendor
                               synthesis (latency, II, LUT/FF/BRAM/DSP) where the tool is installed
  berth bm denoise IMAGE --sigma S
                               both BM3D stages on the hardware matcher: denoised PNG and PSNR
  berth bm study               PSNR per matcher saving (SSD/SAD, window, K, pixel bits, stride)
                               beside Yosys resources, and PSNR vs line-buffer bit error rate

This module has no ``register``: ``berth bm`` (berth/commands/bm.py) calls ``register_bm``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from berth.errors import BerthError

OUT = Path("runs") / "bm"


def register_bm(bm: argparse._SubParsersAction) -> None:
    """Add the ``hls``, ``denoise`` and ``study`` subcommands to ``berth bm``'s subparsers."""
    p = bm.add_parser("hls", help="write a Vitis HLS project; g++ C-sim == golden; vendor synthesis if installed")
    p.add_argument("--out", required=True, help="project directory (created; an existing berth project is replaced)")
    p.add_argument("--image", help="stimulus: an 8-bit image file (sets the frame size); default: the china "
                   "photograph, 8-bit luma, 427x640")
    p.add_argument("--block", type=int, default=8, help="block side N1: 8 or 4 (default 8)")
    p.add_argument("--window", type=int, default=39, help="search window side, odd (default 39)")
    p.add_argument("--stride", type=int, default=3, help="reference stride (default 3)")
    p.add_argument("--metric", default="ssd", help="ssd or sad (default ssd)")
    p.add_argument("--k", type=int, default=16, help="group size K, a power of two <= 32 (default 16)")
    p.add_argument("--tau", type=int, default=192_000, help="distance threshold, keep d < tau (default 192000)")
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
    p.add_argument("--sigma", type=float, required=True, help="noise standard deviation on the 0..255 scale (> 0)")
    p.add_argument("--noisy", action="store_true", help="IMAGE is already noisy: denoise it, no PSNR")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--metric", default="ssd", help="matcher metric: ssd or sad (default ssd)")
    p.add_argument("--window", type=int, default=39, help="search window (default 39)")
    p.add_argument("--stride", type=int, default=3, help="reference stride (default 3)")
    p.add_argument("--k", type=int, default=16, help="stage-1 group size K; the Wiener stage uses 2K (default 16)")
    p.add_argument("--pixel-bits", type=int, default=8, help="matcher pixel bits (default 8)")
    p.add_argument("--out", help="output directory (default runs/bm/denoise-<time>)")
    p.set_defaults(handler=run_denoise)

    p = bm.add_parser("study", help="PSNR per hardware saving beside resources; PSNR vs line-buffer bit errors")
    p.add_argument("--photos", nargs="+", default=["china", "flower"], help="sample photographs (default both)")
    p.add_argument("--crop", type=int, default=256, help="centre crop side in pixels, 0 = full image (default 256)")
    p.add_argument("--sigma", type=float, default=25.0, help="noise sigma (default 25)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--p", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
                   help="line-buffer bit error rates (default 0 1e-4 1e-3 1e-2 3e-2 1e-1)")
    p.add_argument("--chips", type=int, default=3, help="simulated chips per error rate (default 3)")
    p.add_argument("--resources", choices=("auto", "no"), default="auto",
                   help="Yosys estimates per variant when yosys is installed (default auto)")
    p.add_argument("--out", help="output directory (default runs/bm/study-<time>)")
    p.set_defaults(handler=run_study)


def hls_params(args: argparse.Namespace):
    from hardware.blockmatch import BMParams

    return BMParams(block=args.block, window=args.window, stride=args.stride, metric=args.metric, k=args.k,
                    tau=args.tau)


def run_hls(args: argparse.Namespace) -> int:
    import time

    from berth.fsutil import atomic_write_json
    from hardware.blockmatch import block_match
    from hardware.blockmatch_hls import compile_csim, mismatches, read_matches, run_csim, write_project
    from hardware.blockmatch_hls.project import check_out_dir
    from hardware.blockmatch_hls.vendor import find_hls_tool, missing_message, run_synthesis, store_synthesis
    from hardware.bm3d import load_gray8, sample_photo

    params = hls_params(args)
    check_out_dir(Path(args.out))
    if args.synth == "yes" and find_hls_tool() is None:
        raise BerthError(missing_message())
    image = load_gray8(args.image) if args.image else sample_photo("china")
    stimulus = args.image or "scikit-learn china photograph, 8-bit luma"
    out = write_project(args.out, params, image, stimulus=stimulus, part=args.part, clock_ns=args.clock_ns)
    print(f"wrote {out} ({image.shape[0]}x{image.shape[1]} frames, N1={params.block} window={params.window} "
          f"stride={params.stride} {params.metric.upper()} K={params.k} tau={params.tau})")
    code = 0
    if not args.no_csim:
        binary = compile_csim(out)
        start = time.perf_counter()
        got = read_matches(run_csim(binary, out / "tb" / "input.pgm", out / "csim" / "matches.txt"), params)
        seconds = time.perf_counter() - start
        diff = mismatches(block_match(image, params), got)
        atomic_write_json(out / "results" / "csim.json", {"bit_exact": not diff, "differences": diff,
                                                          "references": len(got.refs), "csim_seconds": seconds})
        print(f"g++ C simulation: {len(got.refs)} references in {seconds:.1f} s, "
              + ("bit-exact to the golden model" if not diff else "DIFFERS from the golden model: " + "; ".join(diff)))
        code = 0 if not diff else 1
    if args.synth != "no":
        if find_hls_tool() is None:
            print(f"synthesis skipped: {missing_message()}")
        else:
            r = run_synthesis(out)
            store_synthesis(r, args.store)
            res = r["resources"]
            print(f"csynth ({r['tool']}): latency {r['latency_best']}..{r['latency_worst']} cycles, interval "
                  f"{r['interval_min']}..{r['interval_max']}, sweep II {r['sweep_ii']}, est. clock "
                  f"{r['estimated_clock_ns']} ns; LUT {res['LUT']} FF {res['FF']} BRAM_18K {res['BRAM_18K']} "
                  f"DSP {res['DSP']} -> {out / 'results' / 'csynth.json'} and {args.store} (table hls_synth)")
    return code


def _load_clean(spec: str):
    from hardware.bm3d import load_gray8, sample_photo
    from hardware.bm3d.images import SAMPLE_PHOTOS

    if spec in SAMPLE_PHOTOS and not Path(spec).exists():
        return sample_photo(spec)
    return load_gray8(spec)


def run_denoise(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from berth.commands.common import run_dir
    from berth.fsutil import atomic_directory, atomic_write_json
    from berth.provenance import provenance
    from hardware.bm3d import add_noise, denoise_with_hardware, psnr, save_gray8

    if not args.sigma > 0:
        raise BerthError(f"--sigma {args.sigma!r} must be > 0")
    image = _load_clean(args.image)
    noisy = image.astype(np.float64) if args.noisy else add_noise(image, args.sigma, args.seed)
    start = time.perf_counter()
    res = denoise_with_hardware(noisy, args.sigma, metric=args.metric, window=args.window, stride=args.stride,
                                k_ht=args.k, k_wiener=min(2 * args.k, 32), pixel_bits=args.pixel_bits)
    seconds = time.perf_counter() - start
    record = {"image": args.image, "sigma": args.sigma, "seed": None if args.noisy else args.seed,
              "matcher": {"metric": args.metric, "window": args.window, "stride": args.stride, "k_ht": args.k,
                          "k_wiener": min(2 * args.k, 32), "pixel_bits": args.pixel_bits},
              "seconds": seconds, "provenance": provenance({} if args.noisy else {"noise": args.seed})}
    if not args.noisy:
        record.update(noisy_db=psnr(image, noisy), basic_db=psnr(image, res.basic), psnr_db=psnr(image, res.final))
    out = Path(args.out) if args.out else run_dir(OUT, "denoise")
    with atomic_directory(out, replace=False) as tmp:
        save_gray8(tmp / "denoised.png", res.final)
        save_gray8(tmp / "basic.png", res.basic)
        if not args.noisy:
            save_gray8(tmp / "noisy.png", noisy)
        atomic_write_json(tmp / "result.json", record)
    if args.noisy:
        print(f"denoised {image.shape[0]}x{image.shape[1]} at sigma {args.sigma:g} in {seconds:.1f} s "
              "(no clean image: no PSNR)")
    else:
        print(f"PSNR {record['psnr_db']:.2f} dB (noisy {record['noisy_db']:.2f}, basic estimate "
              f"{record['basic_db']:.2f}), sigma {args.sigma:g}, seed {args.seed}, {seconds:.1f} s")
    print(f"wrote {out / 'denoised.png'} and {out / 'result.json'}")
    return 0


def run_study(args: argparse.Namespace) -> int:
    from berth.commands.common import run_dir
    from hardware.bm3d.study import run_study as study

    if not args.sigma > 0:
        raise BerthError(f"--sigma {args.sigma!r} must be > 0")
    out = Path(args.out) if args.out else run_dir(OUT, "study")
    result = study(out, photos=args.photos, crop=args.crop, sigma=args.sigma, seed=args.seed, ps=args.p,
                   chips=args.chips, resources=args.resources == "auto")
    print(result["table"])
    print(result["errors_table"])
    print(f"wrote {out}/study.json, study.md, study.png, errors.png")
    return 0
