"""A picture of one reference block and its matches, for ``berth bm match`` (PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from berth.hardware.blockmatch.golden import BMParams, MatchResult


def nearest_reference(result: MatchResult, y: int, x: int) -> int:
    """Index of the reference block whose top-left corner is nearest to (y, x)."""
    return int(np.argmin(np.abs(result.refs - np.array([y, x])).sum(axis=1)))


def plot_matches(image: np.ndarray, result: MatchResult, params: BMParams, index: int, path: Path) -> Path:
    """PNG and PDF (``path``'s stem): the image with the reference (red), its search window
    (dashed) and its matches (numbered by rank), and beside it the group of blocks enlarged with
    their distances. Returns the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from berth.core.figures import FIGURE, PAGE_WIDTH_IN, save_figure

    with plt.rc_context(FIGURE):
        nb, n = params.block, params.radius
        y, x = (int(v) for v in result.refs[index])
        count = int(result.count[index])
        fig = plt.figure(figsize=(PAGE_WIDTH_IN, PAGE_WIDTH_IN * 0.55), layout="constrained")
        grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
        ax = fig.add_subplot(grid[0])
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.add_patch(Rectangle((x - n - 0.5, y - n - 0.5), params.window + nb - 1, params.window + nb - 1,
                               fill=False, ls="--", ec="yellow", lw=1))
        for rank in range(count - 1, -1, -1):
            dy, dx = (int(v) for v in result.offsets[index, rank])
            colour = "red" if rank == 0 else "cyan"
            ax.add_patch(Rectangle((x + dx - 0.5, y + dy - 0.5), nb, nb, fill=False, ec=colour, lw=1.5))
            if rank:
                ax.annotate(str(rank), (x + dx + nb / 2, y + dy + nb / 2), color="cyan", fontsize=6,
                            ha="center", va="center")
        ax.set_title(f"reference ({y}, {x}) in red, search window {params.window}x{params.window} dashed,\n"
                     f"{count} blocks in its group (cyan, by rank)")
        cols = int(np.ceil(np.sqrt(count)))
        rows = int(np.ceil(count / cols))
        tiles = grid[1].subgridspec(rows, cols)
        for rank in range(count):
            dy, dx = (int(v) for v in result.offsets[index, rank])
            tile = fig.add_subplot(tiles[rank // cols, rank % cols])
            tile.imshow(image[y + dy:y + dy + nb, x + dx:x + dx + nb], cmap="gray", vmin=0, vmax=255)
            tile.set_xticks([])
            tile.set_yticks([])
            tile.set_title(f"#{rank} ({dy:+d},{dx:+d})\nd={int(result.dist[index, rank])}", fontsize=6)
        fig.suptitle(f"Block matching: N1={nb}, {params.metric.upper()}, tau={params.tau}, K={params.k}, "
                     f"stride {params.stride}")
        png = save_figure(fig, path)
    plt.close(fig)
    return png
