"""Pareto fronts over the joined records, their plots, and the choice of a model under a latency budget."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

from berth.core.errors import BerthError
from berth.hardware.latency.records import Record


def pareto_front(points: Sequence[tuple[float, float]], maximize_x: bool = False) -> list[int]:
    """Indices of the points no other point beats in both coordinates (y always minimized).

    x is minimized (latency) or, with ``maximize_x``, maximized (energy saving). Returned in
    order of increasing cost along x.
    """
    sign = -1.0 if maximize_x else 1.0
    order = sorted(range(len(points)), key=lambda i: (sign * points[i][0], points[i][1]))
    front, best_y = [], float("inf")
    for i in order:
        if points[i][1] < best_y:
            front.append(i)
            best_y = points[i][1]
    return front


def nearest_p(records: list[Record], p: float) -> float:
    """``p`` itself if some record has RErr at p, else a one-line error naming the stored p."""
    stored = sorted({q for r in records for q in r.rerr})
    for q in stored:
        if abs(q - p) <= 1e-12 + 1e-9 * abs(p):
            return q
    raise BerthError(f"no stored RErr at p = {p!r}; stored p: {', '.join(f'{q:g}' for q in stored) or 'none'}")


def select(records: list[Record], budget_ms: float, p: float, what: str) -> Record:
    """The record with the lowest RErr at ``p`` among those with latency <= ``budget_ms``."""
    if not budget_ms > 0:
        raise BerthError(f"latency budget {budget_ms!r} ms must be > 0")
    q = nearest_p(records, p)
    timed = [r for r in records if r.latency_ms is not None and q in r.rerr]
    if not timed:
        raise BerthError(f"no stored configuration has both RErr at p = {p:g} and a latency for {what}; "
                         "run `berth profile --runs` first")
    fits = [r for r in timed if r.latency_ms <= budget_ms]
    if not fits:
        fastest = min(timed, key=lambda r: r.latency_ms)
        raise BerthError(f"no stored configuration meets the latency budget {budget_ms:g} ms ({what}); the fastest "
                         f"available is {fastest.name()} at {fastest.latency_ms:.4g} ms")
    return min(fits, key=lambda r: (r.rerr[q], r.latency_ms))


def plot(records: list[Record], p: float, path: str | Path, what: str) -> int:
    """PNG: RErr vs latency at ``p``, RErr vs SRAM energy saving and RErr vs weight-memory energy
    (all p), Pareto fronts marked.

    Returns the number of records plotted in the latency panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from berth.core.files import atomic_write_bytes

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(21, 5.4))
    timed = [r for r in records if r.latency_ms is not None and p in r.rerr]
    pts = [(r.latency_ms, r.rerr[p] * 100) for r in timed]
    front = set(pareto_front(pts))
    for i, (r, (x, y)) in enumerate(zip(timed, pts)):
        on = i in front
        half_iqr = (r.latency_rel_iqr or 0.0) * x / 2
        ax1.errorbar(x, y, xerr=half_iqr, fmt="o", ms=8 if on else 5, color="#d62728" if on else "#7f7f7f",
                     mec="black" if on else "none", elinewidth=0.8, capsize=2, zorder=3)
        ax1.annotate(r.name(), (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    if front:
        fx = sorted(front, key=lambda i: pts[i][0])
        ax1.step([pts[i][0] for i in fx], [pts[i][1] for i in fx], where="post", color="#d62728", lw=1.2,
                 label="Pareto front")
        ax1.legend(loc="upper right")
    if not timed:
        ax1.text(0.5, 0.5, "no record has a latency yet\n(run berth profile --runs)", ha="center",
                 va="center", transform=ax1.transAxes)
    ax1.set_xlabel(f"latency, ms ({what}; bar = IQR)")
    _log_if_positive(ax1, [y for _, y in pts])
    ax1.set_ylabel(f"RErr at p = {p * 100:g}% (%), mean over chips")
    ax1.set_title("robust error vs latency")
    ax1.grid(alpha=0.3, which="both")

    allpts, names = [], []
    for r in records:
        ps = sorted(r.rerr)
        xs, ys = [r.energy_saving[q] * 100 for q in ps], [r.rerr[q] * 100 for q in ps]
        ax2.plot(xs, ys, marker="o", ms=3, lw=0.8, alpha=0.6, label=r.name())
        allpts += list(zip(xs, ys))
        names += [r.name()] * len(xs)
    efront = pareto_front(allpts, maximize_x=True)
    if efront:
        ef = sorted(efront, key=lambda i: allpts[i][0])
        ax2.plot([allpts[i][0] for i in ef], [allpts[i][1] for i in ef], color="black", lw=2, ls="--",
                 marker="D", ms=6, label="Pareto front", zorder=4)
    _log_if_positive(ax2, [y for _, y in allpts])
    ax2.set_xlabel("SRAM energy saving at p (%)")
    ax2.set_ylabel("RErr (%), mean over chips")
    ax2.set_title("robust error vs energy saving")
    ax2.grid(alpha=0.3, which="both")
    _memory_energy_panel(ax3, records)
    if records:
        ax3.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return len(timed)


def _memory_energy_panel(ax, records: list[Record]) -> None:
    """RErr vs the energy of reading every weight once at each p (weight bits x (V(p)/Vmin)^2)."""
    pts = []
    for r in records:
        ps = sorted(r.rerr)
        xs = [r.memory_energy(q) / 1e3 if r.weight_bits is not None else float("nan") for q in ps]
        ys = [r.rerr[q] * 100 for q in ps]
        ax.plot(xs, ys, marker="o", ms=3, lw=0.8, alpha=0.6, label=r.name())
        pts += [(x, y) for x, y in zip(xs, ys) if x == x]
    front = pareto_front(pts)
    if front:
        ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], color="black", lw=2, ls="--",
                marker="D", ms=6, label="Pareto front", zorder=4)
    if not pts:
        ax.text(0.5, 0.5, "no record has weight bits\n(its model file is missing)", ha="center", va="center",
                transform=ax.transAxes)
    _log_if_positive(ax, [y for _, y in pts])
    ax.set_xlabel("weight-memory energy per pass over the weights (kbit reads at Vmin)")
    ax.set_ylabel("RErr (%), mean over chips")
    ax.set_title("robust error vs weight-memory energy")
    ax.grid(alpha=0.3, which="both")


def _log_if_positive(ax, ys: list[float]) -> None:
    """Log-scale y when every value is > 0 and they span more than a factor of 10 (RErr often does)."""
    if ys and min(ys) > 0 and max(ys) / min(ys) > 10:
        ax.set_yscale("log")
