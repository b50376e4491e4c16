"""Pareto fronts over the joined records, their plots, and the choice of a model under a latency budget."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from berth.core.errors import BerthError
from berth.hardware.latency.records import Record


def pareto_front(points: Sequence[tuple[float, float]], maximize_x: bool = False,
                 spread: Sequence[float] | None = None) -> list[int]:
    """Indices of the points no other point beats, y always minimized, in order along x.

    x is minimized (latency) or, with ``maximize_x``, maximized (energy saving). With ``spread``
    (a half-width per point, e.g. half the latency IQR) a point beats another in x only when
    their intervals do not overlap: an advantage inside the measured spread declares nothing.
    """
    sign = -1.0 if maximize_x else 1.0
    half = list(spread) if spread is not None else [0.0] * len(points)
    xs = [sign * x for x, _ in points]

    def beats(j: int, i: int) -> bool:
        yj, yi = points[j][1], points[i][1]
        if half[j] == half[i] == 0.0:
            return xs[j] <= xs[i] and yj <= yi and (xs[j], yj) != (xs[i], yi)
        faster = xs[j] + half[j] < xs[i] - half[i]
        tied = abs(xs[j] - xs[i]) <= half[j] + half[i]  # the difference is inside the spread
        return (faster and yj <= yi) or (tied and yj < yi)

    front = [i for i in range(len(points)) if not any(beats(j, i) for j in range(len(points)) if j != i)]
    return sorted(front, key=lambda i: (xs[i], points[i][1]))


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
    """RErr vs latency at ``p`` (bars: the latency IQR; the front declares dominance only beyond
    it), RErr vs SRAM energy saving and RErr vs weight-memory energy over all p, fronts marked;
    PNG and PDF at ``path``. Returns the number of records plotted against latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from berth.core.figures import FIGURE, PAGE_WIDTH_IN, save_figure, series_style

    styles = {r.name(): series_style(i) for i, r in enumerate(records)}
    timed = [r for r in records if r.latency_ms is not None and p in r.rerr]
    with plt.rc_context(FIGURE):
        panels = 2 + any(r.weight_bits is not None for r in records) + bool(timed)
        fig, axes = plt.subplots(1, panels, figsize=(PAGE_WIDTH_IN, 2.9), layout="constrained", squeeze=False)
        axes = list(axes[0])
        if timed:
            _latency_panel(axes.pop(0), timed, p, what, styles)
        _energy_panel(axes.pop(0), records, styles)
        if any(r.weight_bits is not None for r in records):
            _memory_energy_panel(axes.pop(0), records, styles)
        legend = axes.pop(0)
        legend.axis("off")
        handles = [plt.Line2D([], [], ms=4, lw=1, **styles[r.name()]) for r in records]
        handles.append(plt.Line2D([], [], color="0.6", lw=5, alpha=0.5))
        legend.legend(handles, [r.name() for r in records] + ["Pareto front"], loc="center", frameon=False)
        save_figure(fig, Path(path))
        plt.close(fig)
    return len(timed)


def _front_band(ax, xs: list[float], ys: list[float]) -> None:
    """The front as a light band under the series, so it hides none of them."""
    ax.plot(xs, ys, color="0.6", lw=5, alpha=0.5, solid_capstyle="round", zorder=1)


def _latency_panel(ax, timed: list[Record], p: float, what: str, styles: dict) -> None:
    pts = [(r.latency_ms, r.rerr[p] * 100) for r in timed]
    half = [(r.latency_rel_iqr or 0.0) * r.latency_ms / 2 for r in timed]
    front = pareto_front(pts, spread=half)
    _front_band(ax, [pts[i][0] for i in front], [pts[i][1] for i in front])
    for r, (x, y), h in zip(timed, pts, half):
        style = {k: v for k, v in styles[r.name()].items() if k != "linestyle"}
        ax.errorbar(x, y, xerr=h, ms=4, elinewidth=0.8, capsize=2, zorder=3, **style)
    ax.set_xlabel(f"latency (ms), bar = IQR\n{what}")
    ax.set_ylabel(f"RErr at p = {p * 100:g}% (%)")
    _log_if_positive(ax, [y for _, y in pts])
    ax.grid(alpha=0.3, which="both")


def _energy_panel(ax, records: list[Record], styles: dict) -> None:
    allpts = []
    for r in records:
        ps = sorted(r.rerr)
        xs, ys = [r.energy_saving[q] * 100 for q in ps], [r.rerr[q] * 100 for q in ps]
        ax.plot(xs, ys, ms=3, lw=1, zorder=3, **styles[r.name()])
        allpts += list(zip(xs, ys))
    front = pareto_front(allpts, maximize_x=True)
    _front_band(ax, [allpts[i][0] for i in front], [allpts[i][1] for i in front])
    ps = sorted({q for r in records for q in r.rerr})
    if records and ps:
        first = next(r for r in records if r.rerr)
        top = ax.secondary_xaxis("top")
        top.set_xticks([first.energy_saving[q] * 100 for q in sorted(first.rerr)],
                       [f"{q * 100:g}" for q in sorted(first.rerr)])
        top.set_xlabel("bit error rate p (%)")
    ax.set_xlabel("SRAM energy saving at p (%)")
    ax.set_ylabel("RErr (%), mean over chips")
    _log_if_positive(ax, [y for _, y in allpts])
    ax.grid(alpha=0.3, which="both")


def _memory_energy_panel(ax, records: list[Record], styles: dict) -> None:
    """RErr vs the energy of reading every weight once at each p (weight bits x (V(p)/Vmin)^2)."""
    pts = []
    for r in records:
        if r.weight_bits is None:
            continue
        ps = sorted(r.rerr)
        xs, ys = [r.memory_energy(q) / 1e3 for q in ps], [r.rerr[q] * 100 for q in ps]
        ax.plot(xs, ys, ms=3, lw=1, zorder=3, **styles[r.name()])
        pts += list(zip(xs, ys))
    front = pareto_front(pts)
    _front_band(ax, [pts[i][0] for i in front], [pts[i][1] for i in front])
    ax.set_xlabel("weight-memory energy per pass\n(kbit reads at Vmin)")
    ax.set_ylabel("RErr (%), mean over chips")
    _log_if_positive(ax, [y for _, y in pts])
    ax.grid(alpha=0.3, which="both")


def _log_if_positive(ax, ys: list[float]) -> None:
    """Log-scale y when every value is > 0 and they span more than a factor of 10 (RErr often does)."""
    if ys and min(ys) > 0 and max(ys) / min(ys) > 10:
        from berth.core.figures import plain_log_labels

        ax.set_yscale("log")
        plain_log_labels(ax.yaxis)
