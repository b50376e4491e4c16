"""GENet's block study on the machine at hand: FLOPs, latency and FLOPs per ms of XX, BL and DW blocks.

GENet (arXiv 2006.14090, Sec. 3) observes on GPUs that full-convolution blocks (XX) get far more
FLOPs done per millisecond than bottleneck (BL) and depthwise (DW) blocks — so XX blocks are the
efficient choice in the early, high-resolution stages, and BL/DW only pay off late, where their
FLOPs saving outweighs their low efficiency. This study measures one stride-1 block of each type
at each stage's resolution and width of a GENet-style backbone (default: GENet-normal's stages
56/28/14/7 px with widths 128/192/640/640 times ``width_mult``) and states whether the observation
holds here: "reproduced" when XX has the highest FLOPs/ms at every stage beyond the measurement
noise (median ± IQR/2), "refuted" where another block beats it beyond noise, otherwise which
stages are too noisy to tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from berth.core.store import now_utc
from berth.models.genet import BLOCKS, Block, PlainFactory, flops
from berth.hardware.latency.profiler import torch_call

GENET_NORMAL_STAGES = ((56, 128), (28, 192), (14, 640), (7, 640))


@dataclass(frozen=True)
class BlockResult:
    """One block type at one stage."""

    block: str
    stage: int
    h: int
    width: int
    flops: int
    ms: float
    ms_iqr: float

    @property
    def flops_per_ms(self) -> float:
        return self.flops / self.ms if self.ms > 0 else float("nan")


def stage_table(width_mult: float, stages: tuple[tuple[int, int], ...] = GENET_NORMAL_STAGES) -> list[tuple[int, int]]:
    """(resolution, width) per stage with widths scaled by ``width_mult`` (at least 8, multiples of 8)."""
    return [(h, max(8, int(round(w * width_mult / 8)) * 8)) for h, w in stages]


def run_study(measure, batch: int, stages: list[tuple[int, int]], dtype: torch.dtype, device: torch.device,
              progress=print) -> list[BlockResult]:
    """Measure every block type at every stage with ``measure`` (a ``profiler.Measurer``)."""
    results = []
    for s, (h, width) in enumerate(stages, start=1):
        for kind in BLOCKS:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                block = Block(PlainFactory(), "b", kind, width, width, 1).eval()
            fl = flops(block, (width, h, h)) * batch
            block = block.to(device=device, dtype=dtype)
            x = torch.rand(batch, width, h, h).to(device=device, dtype=dtype)
            stats, _ = measure(torch_call(block, x))
            r = BlockResult(kind, s, h, width, fl, stats.median, stats.iqr)
            results.append(r)
            progress(f"  stage {s} {h:>3}x{h:<3} width {width:>4} {kind}: {fl / 1e6:9.2f} MFLOPs "
                     f"{stats.median:9.4f} ms  {r.flops_per_ms / 1e6:8.2f} MFLOPs/ms (IQR/median {stats.rel_iqr * 100:.0f}%)")
    return results


def _fpm_range(r: BlockResult) -> tuple[float, float]:
    """FLOPs per ms over the middle half of the samples (median ms ± IQR/2)."""
    return r.flops / (r.ms + r.ms_iqr / 2), r.flops / max(r.ms - r.ms_iqr / 2, 1e-12)


def verdict(results: list[BlockResult]) -> str:
    """Whether GENet's observation (XX has the highest FLOPs per ms at every stage) holds here.

    A stage counts only where the ranges (median ± IQR/2) of XX and the best other block do not
    overlap; overlapping stages are reported as within noise rather than as evidence.
    """
    clear, noisy, broken, ratios = [], [], [], []
    for s in sorted({r.stage for r in results}):
        by = {r.block: r for r in results if r.stage == s}
        xx, other = by["XX"], max((by["BL"], by["DW"]), key=lambda r: r.flops_per_ms)
        ratios.append(xx.flops_per_ms / by["DW"].flops_per_ms)
        (xx_lo, xx_hi), (o_lo, o_hi) = _fpm_range(xx), _fpm_range(other)
        if xx.flops_per_ms >= other.flops_per_ms:
            (clear if xx_lo > o_hi else noisy).append(str(s))
        elif o_lo > xx_hi:
            broken.append(f"stage {s} ({other.block} {other.flops_per_ms / xx.flops_per_ms:.2f}x XX)")
        else:
            noisy.append(str(s))
    span = f"XX/DW FLOPs-per-ms ratio {min(ratios):.1f}x..{max(ratios):.1f}x over stages"
    if broken:
        return f"refuted at {', '.join(broken)}: another block is more FLOPs-efficient than XX beyond noise ({span})"
    if not noisy:
        return f"reproduced: XX blocks have the highest FLOPs per ms at every stage, beyond noise ({span})"
    return (f"not refuted: XX has the highest FLOPs per ms beyond noise at stage(s) {', '.join(clear) or 'none'}; "
            f"stage(s) {', '.join(noisy)} within the IQR noise ({span})")


def rows(results: list[BlockResult], batch: int, dtype: str, device: str, threads: int) -> list[dict]:
    """Store rows (table ``block_study``)."""
    stamp = now_utc()
    return [{"block": r.block, "stage": r.stage, "h": r.h, "width": r.width, "batch": batch, "dtype": dtype,
             "device": device, "threads": threads, "flops": r.flops, "ms_median": r.ms, "ms_iqr": r.ms_iqr,
             "flops_per_ms": r.flops_per_ms, "measured": stamp} for r in results]


def markdown(results: list[BlockResult]) -> str:
    """The study as a Markdown table."""
    lines = ["| stage | resolution | width | block | MFLOPs | ms (median) | IQR ms | MFLOPs per ms |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.stage} | {r.h}x{r.h} | {r.width} | {r.block} | {r.flops / 1e6:.2f} | {r.ms:.4f} | "
                     f"{r.ms_iqr:.4f} | {r.flops_per_ms / 1e6:.2f} |")
    return "\n".join(lines)


def plot(results: list[BlockResult], path, title: str) -> None:
    """PNG: FLOPs per ms (left) and latency (right) per block type and stage, grouped bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import textwrap

    import numpy as np

    from berth.core.files import atomic_write_bytes

    stages = sorted({r.stage for r in results})
    labels = [next(f"stage {s}\n{r.h}x{r.h}, w{r.width}" for r in results if r.stage == s) for s in stages]
    colors = {"XX": "#1f77b4", "BL": "#ff7f0e", "DW": "#2ca02c"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    x = np.arange(len(stages))
    for i, kind in enumerate(BLOCKS):
        by = {r.stage: r for r in results if r.block == kind}
        fpm = [by[s].flops_per_ms / 1e6 for s in stages]
        ms = [by[s].ms for s in stages]
        axes[0].bar(x + (i - 1) * 0.27, fpm, 0.27, label=kind, color=colors[kind])
        axes[1].bar(x + (i - 1) * 0.27, ms, 0.27, label=kind, color=colors[kind],
                    yerr=[by[s].ms_iqr / 2 for s in stages], capsize=2)
    axes[0].set_ylabel("MFLOPs per ms (higher = more efficient)")
    axes[1].set_ylabel("latency per block, ms (median, bar = IQR)")
    for ax, t in zip(axes, ("FLOPs per ms", "latency")):
        ax.set_xticks(x, labels)
        ax.set_title(t)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(title="block")
    fig.suptitle("\n".join(textwrap.wrap(title, 120)), fontsize=10)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
