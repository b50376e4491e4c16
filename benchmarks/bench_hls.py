"""hls4ml route per zoo model: export + compile + verify times, and C-sim throughput vs PyTorch.

For each model (built for hardware: fixed-point weights, 8-bit activations, quick QAT on digits):
* export phases (prepare/fold/check, QONNX, hls4ml convert, write, g++ compile) and verify, in s;
* C-simulation throughput on the same N on-grid test inputs as PyTorch (best of 3), in inputs/s: the
  compiled library (one call per input, as hls4ml's predict) vs the PyTorch model in float32
  (batched, and one input at a time) and the float64 reference berth compares with;
* whether the clean and a p = 1% chip's C simulation match the software model bit for bit.
SimpleNet is listed to show its refusal (group norm). Sizes: ``--size tiny`` (the tests' models)
or ``small`` (wider layers; slower g++).

Run: python benchmarks/bench_hls.py [--size tiny|small] [--bits 8] [--n 400] [--epochs 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from berth.data.datasets import load_dataset
from berth.core.errors import BerthError
from berth.hardware.hls4ml.chips import inject_chips
from berth.hardware.hls4ml.export import export_project
from berth.hardware.hls4ml.target import HlsTarget
from berth.hardware.hls4ml.verify import verify_project
from berth.hardware.hls4ml.compare import csim_outputs, on_grid
from berth.models import create_model
from berth.train.loop import TrainConfig, train
from timing import best_time

SIZES = {
    "tiny": {"mlp": {"hidden": (16,)}, "lenet": {"channels": (4, 8), "hidden": 16},
             "simplenet": {"widths": (4,), "groups": 2}, "resnet20": {"width": 4, "blocks": 1, "head": "max"}},
    "small": {"mlp": {"hidden": (64, 32)}, "lenet": {"channels": (8, 16), "hidden": 32},
              "simplenet": {"widths": (8, 16)}, "resnet20": {"width": 8, "blocks": 2, "head": "max"}},
}


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def torch_rates(model, xq: torch.Tensor) -> tuple[float, float, float]:
    """Inputs/s of PyTorch: float32 batched, float32 one at a time, float64 batched (berth's reference)."""
    x32 = xq.float()
    n = len(xq)
    with torch.no_grad():
        model.float()
        batched = best_time(lambda: model(x32))
        single = best_time(lambda: [model(x32[i:i + 1]) for i in range(n)])
        model.double()
        ref = best_time(lambda: model(xq))
    return rate(n, batched), rate(n, single), rate(n, ref)


def bench(name: str, arch: dict, bits: int, n: int, epochs: int, data, root: Path) -> None:
    model = create_model(name, scheme="fixed", bits=bits, act_bits=8, hw=True, seed=0, **arch)
    train(model, data, TrainConfig(epochs=epochs, seed=0), progress=False)
    t = time.perf_counter()
    try:
        project = export_project(model, root / name, HlsTarget())
    except BerthError as exc:
        print(f"{name:<9} refused: {exc}")
        return
    export_s = time.perf_counter() - t
    t = time.perf_counter()
    res = verify_project(project, n=n)
    verify_s = time.perf_counter() - t
    (chip,) = inject_chips(project, 0.01, [0], n=n)
    sw = project.software_model()
    xq = on_grid(sw, data.x_test[:n])
    csim_s = best_time(lambda: csim_outputs(project, xq))
    batched, single, ref = torch_rates(sw, xq)
    ph = project.meta["timings_s"]
    weights = sum(v["weights"] for v in project.meta["layers"].values())
    print(f"{name:<9} {weights:>7} {ph['prepare'] + ph['qonnx']:>6.1f} {ph['convert'] + ph['write']:>6.1f} "
          f"{ph['compile']:>7.1f} {export_s:>6.1f} {verify_s:>6.1f} | {rate(n, csim_s):>8.0f} {batched:>9.0f} "
          f"{single:>8.0f} {ref:>8.0f} | {res.exact_match * 100:>5.1f}% {chip.comparison.exact_match * 100:>5.1f}% "
          f"{res.sw_error * 100:>5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="tiny")
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--n", type=int, default=400, help="test inputs per measurement")
    parser.add_argument("--epochs", type=int, default=10, help="QAT epochs before export (not timed)")
    parser.add_argument("--models", nargs="+", default=list(SIZES["tiny"]))
    args = parser.parse_args()
    data = load_dataset("digits")
    print(f"{args.size} models, {args.bits}-bit weights, 8-bit activations, {args.n} digits test inputs, "
          f"{torch.get_num_threads()} torch threads")
    print(f"{'model':<9} {'weights':>7} {'qonnx':>6} {'conv':>6} {'g++ s':>7} {'export':>6} {'verify':>6} | "
          f"{'C-sim/s':>8} {'torch32/s':>9} {'t32 1/s':>8} {'t64/s':>8} | {'exact':>6} {'chip':>6} {'err':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-hls-") as tmp:
        for name in args.models:
            bench(name, SIZES[args.size][name], args.bits, args.n, args.epochs, data, Path(tmp))


if __name__ == "__main__":
    main()
