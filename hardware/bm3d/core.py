"""BM3D denoising (Dabov et al., 2007) on top of a pluggable block matcher, filtered as the reference does.

The reference is Maekinen, Azzari and Foi's BM3D (``bm3d`` 4.x, normal profile "np", white noise).
Where it differs from Dabov et al.'s BM3D.m, berth follows it:

* **Exact noise variance of the group spectrum.** Blocks of a group often overlap (a block's best
  matches are often its neighbours), so they share noise samples, and the coefficients of the 1-D
  transform across the group do not all have variance sigma^2: the group DC of overlapping blocks
  carries more noise, their differences less. Coefficient (layer l across the group, 2-D
  coefficient u) has variance ``sigma^2 * sum_ij h_li h_lj C_u(p_j - p_i)``, ``C_u`` being the
  autocorrelation of the 2-D basis function u at the displacement of blocks i and j (zero when they
  do not overlap). Like the reference (its ``k`` = 4), the first ``exact_layers`` layers of the Haar
  transform get this exact variance, the others sigma^2.
* **Shrinkage on that variance**: hard threshold ``lambda3d * sqrt(var)`` and Wiener shrinkage
  ``|B|^2 / (|B|^2 + mu2 * var)`` with lambda3d = 3.0 and mu2 = 0.4, the values ``bm3d`` 4 sets for
  white noise (not BM3D.m's 2.7 and 1).
* **Aggregation weights** ``kaiser / sum(var of the kept coefficients)`` (hard thresholding) and
  ``kaiser / sum(shrinkage^2 * var)`` (Wiener), Kaiser window beta = 2.

The stages:

1. **Hard thresholding.** Blocks are grouped by the matcher run on the noisy image; each group is
   transformed by a 2-D transform per block (bior1.5 by default) and a 1-D Haar transform across
   the group, coefficients with ``|c| <= lambda3d * sqrt(var)`` are zeroed (the 3-D DC is always
   kept), and the group is transformed back and aggregated into the basic estimate.
2. **Wiener filtering.** Blocks are grouped again by the matcher run on the basic estimate; the
   3-D spectrum (2-D DCT, 1-D Haar) of the basic-estimate group gives the empirical Wiener
   shrinkage, which is applied to the spectrum of the noisy group.

The matcher sees the image it groups on as 8-bit pixels mapped linearly from the image's
[min, max] onto 0..255 (``images.match_pixels``): the reference scales its matching thresholds by
``(max - min)^2 / 255^2`` of that image, so a matcher with BM3D's fixed thresholds
(``tau = tau_match * N1^2``) compares the same distances on the mapped image.

The matcher is any callable ``(uint8 image, params) -> MatchResult`` with berth's block-matching
output format (``refs``, ``offsets``, ``count``; see ``docs/blockmatch.md``), so the hardware's
exact matching — its metric, window, threshold, K, pixel bits, and even corrupted line buffers —
decides the groups. All work is vectorised over groups of equal size: 2-D spectra of every block
position are computed once with one GEMM, groups are gathered from them, and aggregation is a
``bincount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from berth.core.errors import BerthError, check_choice
from berth.hardware.bm3d.images import match_pixels
from berth.hardware.bm3d.transforms import (TRANSFORMS_2D, basis_autocorrelation, haar_matrix, transform_1d,
                                            transform_2d)

Matcher = Callable[[np.ndarray, Any], Any]

# Blocks of one gather/transform step (groups x group size); bounds the working memory (~50 MB).
_CHUNK_BLOCKS = 1 << 16


@dataclass(frozen=True)
class BM3DConfig:
    """Filter settings of both stages (matching settings live in the matcher's params).

    ``lambda3d``: hard threshold in units of the coefficient's noise standard deviation; ``mu2``:
    Wiener regularisation in units of its variance; ``beta``: Kaiser window parameter of the
    aggregation; ``transform_ht``: 2-D transform of the hard stage ("bior1.5" as in BM3D's normal
    profile, or "dct"); the Wiener stage always uses the DCT. ``exact_layers``: how many layers of
    the transform across the group get the exact variance of overlapping blocks (0: all sigma^2).
    """

    lambda3d: float = 3.0
    mu2: float = 0.4
    beta: float = 2.0
    transform_ht: str = "bior1.5"
    exact_layers: int = 4

    def __post_init__(self) -> None:
        check_choice("hard-threshold 2-D transform", self.transform_ht, TRANSFORMS_2D)
        for name in ("lambda3d", "mu2"):
            if not getattr(self, name) > 0:
                raise BerthError(f"{name} = {getattr(self, name)!r} must be > 0")
        if not (isinstance(self.exact_layers, int) and self.exact_layers >= 0):
            raise BerthError(f"exact_layers = {self.exact_layers!r} must be an integer >= 0")


@dataclass(frozen=True)
class BM3DResult:
    """Basic (stage 1) and final (stage 2) estimates as float64 images, and the matches used."""

    basic: np.ndarray
    final: np.ndarray
    match_ht: Any
    match_wiener: Any


def _block_spectra(image: np.ndarray, forward: np.ndarray, n: int) -> np.ndarray:
    """2-D spectra (float32, shape (positions, n*n)) of every n x n block, row-major positions."""
    patches = np.lib.stride_tricks.sliding_window_view(image.astype(np.float32), (n, n))
    flat = patches.reshape(-1, n * n)
    out = np.empty_like(flat)
    step = _CHUNK_BLOCKS * 4
    f32 = forward.T.astype(np.float32)
    for i in range(0, flat.shape[0], step):
        np.matmul(flat[i:i + step], f32, out=out[i:i + step])
    return out


class _Aggregator:
    """Weighted sums of block estimates and of their weights over the image (Kaiser window)."""

    def __init__(self, shape: tuple[int, int], n: int, beta: float):
        self.shape = shape
        self.n = n
        self.num = np.zeros(shape[0] * shape[1])
        self.den = np.zeros(shape[0] * shape[1])
        self.kaiser = np.outer(np.kaiser(n, beta), np.kaiser(n, beta)).reshape(-1)
        self.offsets = (np.arange(n)[:, None] * shape[1] + np.arange(n)[None, :]).reshape(-1)

    def add(self, top_left: np.ndarray, blocks: np.ndarray, weights: np.ndarray) -> None:
        """Add ``blocks`` (groups, size, n*n) at ``top_left`` (groups, size) flat pixel indices."""
        idx = (top_left[..., None] + self.offsets).reshape(-1)
        w = (weights[:, None, None] * self.kaiser).astype(np.float64)
        size = self.num.size
        self.num += np.bincount(idx, (w * blocks).reshape(-1), minlength=size)
        self.den += np.bincount(idx, np.broadcast_to(w, blocks.shape).reshape(-1), minlength=size)

    def image(self) -> np.ndarray:
        if np.any(self.den == 0):
            raise BerthError("the block matches do not cover every pixel "
                             "(reference grid must reach the last row and column)")
        return (self.num / self.den).reshape(self.shape)


def _groups(match: Any, n: int, shape: tuple[int, int]):
    """Yield (size, block position indices, block rows, block columns) chunks, each (groups, size)."""
    refs = np.asarray(match.refs, dtype=np.int64)
    offsets = np.asarray(match.offsets, dtype=np.int64)
    count = np.asarray(match.count, dtype=np.int64)
    h, w = shape
    for size in np.unique(count):
        sel = np.flatnonzero(count == size)
        step = max(1, _CHUNK_BLOCKS // int(size))
        for i in range(0, sel.size, step):
            part = sel[i:i + step]
            pos = refs[part, None, :] + offsets[part, :size, :]
            ys, xs = pos[..., 0], pos[..., 1]
            if ys.min() < 0 or xs.min() < 0 or ys.max() > h - n or xs.max() > w - n:
                raise BerthError("a match lies outside the image; the matcher's output is inconsistent")
            yield int(size), ys * (w - n + 1) + xs, ys, xs


def group_variance(haar: np.ndarray, ys: np.ndarray, xs: np.ndarray, autocorr: np.ndarray,
                   layers: int) -> np.ndarray:
    """Noise variance, in units of sigma^2, of every 3-D coefficient of groups of white-noise blocks.

    ``haar``: the (m, m) transform across a group; ``ys``, ``xs``: (groups, m) block corners;
    ``autocorr``: the 1-D basis autocorrelation (``transforms.basis_autocorrelation``) of the
    separable 2-D transform. Returns (groups, m, n*n): layer l < ``layers`` gets
    ``sum_ij h_li h_lj C_u(p_j - p_i)`` with ``C_u(dy, dx) = autocorr[a, dy] * autocorr[b, dx]`` for
    u = (a, b), nonzero only where blocks i and j overlap; the other layers get 1.
    """
    groups, m = ys.shape
    n, lags = autocorr.shape
    var = np.ones((groups, m, n * n), dtype=np.float32)
    depth = min(int(layers), m)
    if depth == 0:
        return var
    dy = ys[:, None, :] - ys[:, :, None]
    dx = xs[:, None, :] - xs[:, :, None]
    g, i, j = np.nonzero((np.abs(dy) < n) & (np.abs(dx) < n))  # overlapping pairs, i == j included
    cell = (dy[g, i, j] + n - 1) * lags + dx[g, i, j] + n - 1
    bins = (g[None, :] * depth + np.arange(depth)[:, None]) * lags * lags + cell[None, :]
    # Per group and layer: the Haar-weighted histogram of the displacements of overlapping blocks.
    hist = np.bincount(bins.reshape(-1), (haar[:depth, i] * haar[:depth, j]).reshape(-1),
                       minlength=groups * depth * lags * lags).reshape(groups, depth, lags, lags)
    var[:, :depth] = (autocorr @ hist @ autocorr.T).reshape(groups, depth, n * n)
    return var


def hard_threshold_stage(noisy: np.ndarray, sigma: float, match: Any, block: int, cfg: BM3DConfig) -> np.ndarray:
    """Stage 1 of BM3D: collaborative hard thresholding of the groups in ``match``."""
    forward, inverse = transform_2d(cfg.transform_ht, block)
    autocorr = basis_autocorrelation(transform_1d(cfg.transform_ht, block))
    spectra = _block_spectra(noisy, forward, block)
    inv = inverse.T.astype(np.float32)
    agg = _Aggregator(noisy.shape, block, cfg.beta)
    thr2 = np.float32((cfg.lambda3d * sigma) ** 2)
    for size, pos, ys, xs in _groups(match, block, noisy.shape):
        haar = haar_matrix(size)
        var = group_variance(haar, ys, xs, autocorr, cfg.exact_layers)
        haar = haar.astype(np.float32)
        group = haar @ spectra[pos]                       # (g, size, n*n) 3-D spectra
        keep = np.square(group) > thr2 * var
        keep[:, 0, 0] = True                              # the 3-D DC is never thresholded
        group *= keep
        weights = 1.0 / (sigma**2 * (keep * var).sum(axis=(1, 2), dtype=np.float64))
        blocks = (haar.T @ group) @ inv
        agg.add(ys * noisy.shape[1] + xs, blocks, weights)
    return agg.image()


def wiener_stage(noisy: np.ndarray, basic: np.ndarray, sigma: float, match: Any, block: int,
                 cfg: BM3DConfig) -> np.ndarray:
    """Stage 2 of BM3D: collaborative empirical Wiener filtering guided by the basic estimate."""
    forward, inverse = transform_2d("dct", block)
    autocorr = basis_autocorrelation(transform_1d("dct", block))
    spec_noisy = _block_spectra(noisy, forward, block)
    spec_basic = _block_spectra(basic, forward, block)
    inv = inverse.T.astype(np.float32)
    agg = _Aggregator(noisy.shape, block, cfg.beta)
    reg = np.float32(cfg.mu2 * sigma**2)
    for size, pos, ys, xs in _groups(match, block, noisy.shape):
        haar = haar_matrix(size)
        var = group_variance(haar, ys, xs, autocorr, cfg.exact_layers)
        haar = haar.astype(np.float32)
        energy = np.square(haar @ spec_basic[pos])
        shrink = energy / (energy + reg * var)
        group = shrink * (haar @ spec_noisy[pos])
        noise = (np.square(shrink) * var).sum(axis=(1, 2), dtype=np.float64)
        weights = 1.0 / (sigma**2 * np.maximum(noise, 1e-12))
        blocks = (haar.T @ group) @ inv
        agg.add(ys * noisy.shape[1] + xs, blocks, weights)
    return agg.image()


def bm3d(noisy: np.ndarray, sigma: float, matcher: Matcher, params_ht: Any, params_wiener: Any,
         cfg: BM3DConfig = BM3DConfig()) -> BM3DResult:
    """Denoise ``noisy`` (float, 0..255 scale, known noise ``sigma``) with both BM3D stages.

    ``matcher(pixels, params)`` groups blocks; it sees ``match_pixels`` of the noisy image (stage 1,
    with ``params_ht``) and of the basic estimate (stage 2, with ``params_wiener``).
    Both params must have the same ``block`` size.
    """
    if not sigma > 0:
        raise BerthError(f"noise sigma = {sigma!r} must be > 0")
    noisy = np.asarray(noisy, dtype=np.float64)
    if noisy.ndim != 2:
        raise BerthError(f"BM3D needs a 2-D grayscale image, got shape {noisy.shape}")
    block = int(params_ht.block)
    if int(params_wiener.block) != block:
        raise BerthError(f"both stages need the same block size, got {params_ht.block} and {params_wiener.block}")
    match_ht = matcher(match_pixels(noisy), params_ht)
    basic = hard_threshold_stage(noisy, sigma, match_ht, block, cfg)
    match_wiener = matcher(match_pixels(basic), params_wiener)
    final = wiener_stage(noisy, basic, sigma, match_wiener, block, cfg)
    return BM3DResult(basic=basic, final=final, match_ht=match_ht, match_wiener=match_wiener)
