"""A picture of one reference block and its matches, for ``berth bm match``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from berth.core.files import atomic_write_bytes
from berth.hardware.blockmatch.golden import BMParams, MatchResult


def nearest_reference(result: MatchResult, y: int, x: int) -> int:
    """Index of the reference block whose top-left corner is nearest to (y, x)."""
    return int(np.argmin(np.abs(result.refs - np.array([y, x])).sum(axis=1)))


def plot_matches(image: np.ndarray, result: MatchResult, params: BMParams, index: int, path: Path) -> Path:
    """PNG: the image with the reference (red), its search window (dashed) and its matches
    (numbered by rank), and beside it the group of blocks enlarged with their distances."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    nb, n = params.block, params.radius
    y, x = (int(v) for v in result.refs[index])
    count = int(result.count[index])
    fig = plt.figure(figsize=(12, 6.5), constrained_layout=True)
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
            ax.annotate(str(rank), (x + dx + nb / 2, y + dy + nb / 2), color="cyan", fontsize=7,
                        ha="center", va="center")
    ax.set_title(f"reference ({y}, {x}) in red, search window {params.window}x{params.window} dashed, "
                 f"{count} blocks in its group", fontsize=9)
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    tiles = grid[1].subgridspec(rows, cols)
    for rank in range(count):
        dy, dx = (int(v) for v in result.offsets[index, rank])
        tile = fig.add_subplot(tiles[rank // cols, rank % cols])
        tile.imshow(image[y + dy:y + dy + nb, x + dx:x + dx + nb], cmap="gray", vmin=0, vmax=255)
        tile.set_xticks([])
        tile.set_yticks([])
        tile.set_title(f"#{rank} ({dy:+d},{dx:+d})\nd={int(result.dist[index, rank])}", fontsize=7)
    fig.suptitle(f"Block matching: N1={nb}, {params.metric.upper()}, tau={params.tau}, K={params.k}, "
                 f"stride {params.stride}", fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
