"""Golden model of berth's block matcher (the spec is ``docs/blockmatch.md``).

Pure NumPy and importable without any simulator: the Python tests, the cocotb bench, the
native Verilator run and the HLS C-simulation all compare against :func:`block_match` and
require exact equality. It is vectorised per window row ``dy``: the pixel-wise distance of all
``dx`` at once, box sums by cumulative sums (an integral image per offset), then a partition on
the unique key (distance, scan index) instead of a per-reference sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from berth.core.errors import BerthError, check_choice, check_range

METRICS = ("ssd", "sad")
BLOCKS = (4, 8)
K_CHOICES = (2, 4, 8, 16, 32)
K_MAX = K_CHOICES[-1]
WINDOW_MAX = 63
TAU_MAX = 1 << 23


@dataclass(frozen=True)
class BMParams:
    """Parameters of the block matcher (their allowed values are in the spec)."""

    block: int = 8
    window: int = 39
    stride: int = 3
    metric: str = "ssd"
    k: int = 16
    tau: int = 192_000
    pixel_bits: int = 8

    def __post_init__(self) -> None:
        for name in ("block", "window", "stride", "k", "tau", "pixel_bits"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise BerthError(f"{name} = {value!r} must be an integer")
        check_choice("block size N1", self.block, BLOCKS)
        check_range("search window", self.window, 3, WINDOW_MAX)
        if self.window % 2 == 0:
            raise BerthError(f"search window = {self.window!r} must be odd (2n+1), 3..{WINDOW_MAX}")
        check_range("reference stride", self.stride, 1, 16)
        check_choice("metric", self.metric, METRICS)
        if self.k not in K_CHOICES:
            raise BerthError(f"k = {self.k!r} is not allowed; allowed: {', '.join(map(str, K_CHOICES))} "
                             f"(a power of two, at most {K_MAX})")
        check_range("threshold tau", self.tau, 1, TAU_MAX)
        check_choice("pixel_bits", self.pixel_bits, (8,))

    @property
    def radius(self) -> int:
        """n, the window half-width."""
        return self.window // 2

    @property
    def dist_bits(self) -> int:
        """DW, the width of the distance field of an output record."""
        return int(self.tau).bit_length()

    @property
    def sat(self) -> int:
        """The saturation value of the distance field, used for unused slots."""
        return (1 << self.dist_bits) - 1


@dataclass(frozen=True)
class MatchResult:
    """The matches of every reference block, in the golden scan order (raster)."""

    refs: np.ndarray  # (R, 2) int64: (y, x) of each reference block
    offsets: np.ndarray  # (R, K, 2) int64: (dy, dx), best first; unused slots 0
    dist: np.ndarray  # (R, K) int64; unused slots = params.sat
    count: np.ndarray  # (R,) int64: group size, a power of two, >= 1


def check_image(image: object, params: BMParams) -> np.ndarray:
    """Return ``image`` as a 2-D uint8 array or raise a one-line BerthError saying why not."""
    if not isinstance(image, np.ndarray):
        raise BerthError(f"image of type {type(image).__name__} is not a NumPy array of 8-bit grayscale pixels")
    if image.dtype != np.uint8:
        raise BerthError(f"image dtype {image.dtype} is not allowed; need 8-bit grayscale (uint8)")
    if image.ndim != 2:
        raise BerthError(f"image shape {image.shape} is not 8-bit grayscale (need 2-D H x W)")
    if min(image.shape) < params.block:
        raise BerthError(f"image shape {image.shape} is smaller than a {params.block}x{params.block} block")
    return image


def ref_positions(size: int, block: int, stride: int) -> np.ndarray:
    """Reference coordinates along one axis: 0, s, 2s, ... <= size-block, last one forced."""
    pos = list(range(0, size - block + 1, stride))
    if pos[-1] != size - block:
        pos.append(size - block)
    return np.array(pos, dtype=np.int64)


def _distances(image: np.ndarray, params: BMParams, ry: np.ndarray, rx: np.ndarray) -> np.ndarray:
    """Distances (Ry, Rx, window, window) of every reference to every offset; -1 outside the image."""
    n, nb, ws = params.radius, params.block, params.window
    h, w = image.shape
    img = image.astype(np.int32)
    # int32 unless a column or row prefix sum could overflow it (images beyond ~4K).
    acc = np.int32 if max(w, h * nb) * 255 * 255 < 2**31 else np.int64
    padded = np.zeros((h + 2 * n, w + 2 * n), dtype=np.int32)
    padded[n:n + h, n:n + w] = img
    out = np.empty((len(ry), len(rx), ws, ws), dtype=np.int64)
    pix = np.empty((h, ws, w), dtype=np.int32)  # buffers reused for every dy
    cx = np.zeros((h, ws, w + 1), dtype=acc)
    cy = np.zeros((h + 1, ws, len(rx)), dtype=acc)
    for iy, dy in enumerate(range(-n, n + 1)):
        shifted = np.lib.stride_tricks.sliding_window_view(padded[n + dy:n + dy + h], w, axis=1)
        np.subtract(img[:, None, :], shifted, out=pix)
        if params.metric == "ssd":
            np.multiply(pix, pix, out=pix)
        else:
            np.abs(pix, out=pix)
        np.cumsum(pix, axis=2, out=cx[:, :, 1:])
        hsum = cx[:, :, rx + nb] - cx[:, :, rx]  # (h, ws, Rx)
        np.cumsum(hsum, axis=0, out=cy[1:])
        out[:, :, iy, :] = (cy[ry + nb] - cy[ry]).transpose(0, 2, 1)
    offs = np.arange(-n, n + 1)
    inside_y = (ry[:, None] + offs >= 0) & (ry[:, None] + offs <= h - nb)  # (Ry, ws)
    inside_x = (rx[:, None] + offs >= 0) & (rx[:, None] + offs <= w - nb)  # (Rx, ws)
    inside = inside_y[:, None, :, None] & inside_x[None, :, None, :]
    return np.where(inside, out, -1)


def block_match(image: np.ndarray, params: BMParams = BMParams()) -> MatchResult:
    """Group every reference block with its best matches, exactly as the spec says."""
    check_image(image, params)
    h, w = image.shape
    ry = ref_positions(h, params.block, params.stride)
    rx = ref_positions(w, params.block, params.stride)
    ws, n, k = params.window, params.radius, params.k
    dist = _distances(image, params, ry, rx).reshape(len(ry) * len(rx), ws * ws)
    eligible = (dist >= 0) & (dist < params.tau)
    eligible[:, n * ws + n] = False  # the reference itself sits in slot 0
    # Unique key: distance, then scan index; ineligible candidates sort last.
    sentinel = np.int64(1) << 62
    key = np.where(eligible, dist * (ws * ws) + np.arange(ws * ws), sentinel)
    if key.shape[1] < k - 1:  # a window smaller than the group
        key = np.pad(key, ((0, 0), (0, k - 1 - key.shape[1])), constant_values=sentinel)
    best = np.sort(np.partition(key, k - 2, axis=1)[:, :k - 1], axis=1)
    kept = (best < sentinel).sum(axis=1)
    count = 1 << np.floor(np.log2(1 + kept)).astype(np.int64)
    idx = best % (ws * ws)
    used = np.arange(1, k)[None, :] < count[:, None]
    offsets = np.zeros((len(key), k, 2), dtype=np.int64)
    offsets[:, 1:, 0] = np.where(used, idx // ws - n, 0)
    offsets[:, 1:, 1] = np.where(used, idx % ws - n, 0)
    out_dist = np.full((len(key), k), params.sat, dtype=np.int64)
    out_dist[:, 0] = 0
    out_dist[:, 1:] = np.where(used, best // (ws * ws), params.sat)
    refs = np.stack(np.meshgrid(ry, rx, indexing="ij"), axis=-1).reshape(-1, 2)
    return MatchResult(refs=refs, offsets=offsets, dist=out_dist, count=count)
