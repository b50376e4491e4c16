"""One look for every figure berth writes: sized for a paper's page, readable fonts, series told
apart by colour, marker and line style (so they survive grey-scale printing), saved as PNG and PDF.

Plain settings only (no matplotlib import here): plotting modules pass ``FIGURE`` to
``matplotlib.pyplot.rc_context`` and save through ``save_figure``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.core.files import atomic_savefig

FIGURE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
          "ytick.labelsize": 7, "figure.dpi": 100, "savefig.bbox": "tight", "pdf.fonttype": 42}
PAGE_WIDTH_IN = 7.0  # a two-column paper's text width
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]  # Okabe-Ito
MARKERS = "osD^vP*X"
LINESTYLES = ["-", "--", "-.", ":"]


def series_style(i: int) -> dict[str, Any]:
    """Colour, marker and line style of series ``i``."""
    return {"color": COLORS[i % len(COLORS)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` as PNG (at ``path``'s stem) and as a vector PDF beside it, both atomically;
    returns the PNG's path."""
    path = Path(path)
    atomic_savefig(fig, path.with_suffix(".png"), dpi=200)
    atomic_savefig(fig, path.with_suffix(".pdf"))
    return path.with_suffix(".png")


def plain_log_labels(axis: Any) -> None:
    """Label a log axis with plain numbers (1, 2, 5, 10, 20, ...) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _pos: int) -> str:
        lead = value / 10 ** int(f"{value:e}".split("e")[1])
        return f"{value:g}" if round(lead) in (1, 2, 5) else ""

    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(FuncFormatter(label))
