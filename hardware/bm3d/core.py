"""BM3D denoising (Dabov et al., 2007) on top of a pluggable block matcher.

Both stages follow the normal profile of the reference implementation:

1. **Hard thresholding.** Blocks are grouped by the matcher run on the noisy image (as 8-bit
   pixels; above ``prefilter_above`` sigma on a 2-D prefiltered image, see below), each group
   is transformed by a 2-D transform per block (bior1.5 by default) and a 1-D Haar transform
   across the group, coefficients below ``lambda3d * sigma`` are zeroed (the
   3-D DC coefficient is always kept), and the group is transformed back. Every block estimate is
   added to the image with weight ``kaiser * 1 / (sigma^2 * nonzero coefficients)``.
2. **Wiener filtering.** Blocks are grouped again by the matcher run on the basic estimate of
   stage 1 (as 8-bit pixels); the 3-D spectrum (2-D DCT, 1-D Haar) of the basic-estimate group
   gives empirical Wiener shrinkage ``|B|^2 / (|B|^2 + sigma^2)``, which is applied to the
   spectrum of the noisy group; weights are ``kaiser / (sigma^2 * ||shrinkage||^2)``.

At high noise (BM3D uses sigma > 40) integer SSD on noisy pixels picks blocks whose *noise* happens
to agree, and the reference BM3D then measures distances on 2-D hard-thresholded blocks
(lambda_2D). A pixel-stream matcher cannot see per-block spectra, so berth feeds it a prefiltered
image instead: every block on the reference grid hard-thresholded alone in the 2-D transform
domain (``prefilter_lambda * sigma``) and aggregated like stage 1. ``prefilter_lambda`` = 1.0 was
chosen on the two scikit-learn photographs at sigma = 50 (1.0 / 1.5 / 2.0 tried; see the README).

The matcher is any callable ``(uint8 image, params) -> MatchResult`` with berth's block-matching
output format (``refs``, ``offsets``, ``count``; see ``docs/blockmatch.md``), so the hardware's
exact matching — its metric, window, threshold, K, pixel bits, and even corrupted line buffers —
decides the groups. All work is vectorised over groups of equal size: 2-D spectra of every block
position are computed once with one GEMM, groups are gathered from them, and aggregation is a
``bincount``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from berth.core.errors import BerthError, check_choice
from berth.hardware.bm3d.images import to_pixels
from berth.hardware.bm3d.transforms import TRANSFORMS_2D, haar_matrix, transform_2d

Matcher = Callable[[np.ndarray, Any], Any]

# Blocks of one gather/transform step (groups x group size); bounds the working memory (~50 MB).
_CHUNK_BLOCKS = 1 << 16


@dataclass(frozen=True)
class BM3DConfig:
    """Filter settings of both stages (matching settings live in the matcher's params).

    ``lambda3d``: hard threshold in units of sigma; ``beta``: Kaiser window parameter of the
    aggregation; ``transform_ht``: 2-D transform of the hard stage ("bior1.5" as in BM3D's normal
    profile, or "dct"); the Wiener stage always uses the DCT. Above ``prefilter_above`` sigma the
    stage-1 matcher sees the 2-D prefiltered image (threshold ``prefilter_lambda * sigma``).
    """

    lambda3d: float = 2.7
    beta: float = 2.0
    transform_ht: str = "bior1.5"
    prefilter_above: float = 40.0
    prefilter_lambda: float = 1.0

    def __post_init__(self) -> None:
        check_choice("hard-threshold 2-D transform", self.transform_ht, TRANSFORMS_2D)
        for name in ("lambda3d", "prefilter_lambda"):
            if not getattr(self, name) > 0:
                raise BerthError(f"{name} = {getattr(self, name)!r} must be > 0")


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
    """Yield (size, block position indices (groups, size), pixel indices (groups, size)) chunks."""
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
            yield int(size), ys * (w - n + 1) + xs, ys * w + xs


def hard_threshold_stage(noisy: np.ndarray, sigma: float, match: Any, block: int, cfg: BM3DConfig) -> np.ndarray:
    """Stage 1 of BM3D: collaborative hard thresholding of the groups in ``match``."""
    forward, inverse = transform_2d(cfg.transform_ht, block)
    spectra = _block_spectra(noisy, forward, block)
    inv = inverse.T.astype(np.float32)
    agg = _Aggregator(noisy.shape, block, cfg.beta)
    thr = np.float32(cfg.lambda3d * sigma)
    for size, pos, pix in _groups(match, block, noisy.shape):
        haar = haar_matrix(size).astype(np.float32)
        group = haar @ spectra[pos]                       # (g, size, n*n) 3-D spectra
        keep = np.abs(group) > thr
        keep[:, 0, 0] = True                              # the 3-D DC is never thresholded
        group *= keep
        nonzero = keep.sum(axis=(1, 2))
        weights = 1.0 / (sigma**2 * nonzero)
        blocks = (haar.T @ group) @ inv
        agg.add(pix, blocks, weights)
    return agg.image()


def wiener_stage(noisy: np.ndarray, basic: np.ndarray, sigma: float, match: Any, block: int,
                 cfg: BM3DConfig) -> np.ndarray:
    """Stage 2 of BM3D: collaborative empirical Wiener filtering guided by the basic estimate."""
    forward, inverse = transform_2d("dct", block)
    spec_noisy = _block_spectra(noisy, forward, block)
    spec_basic = _block_spectra(basic, forward, block)
    inv = inverse.T.astype(np.float32)
    agg = _Aggregator(noisy.shape, block, cfg.beta)
    var = np.float32(sigma**2)
    for size, pos, pix in _groups(match, block, noisy.shape):
        haar = haar_matrix(size).astype(np.float32)
        energy = np.square(haar @ spec_basic[pos])
        shrink = energy / (energy + var)
        group = shrink * (haar @ spec_noisy[pos])
        weights = 1.0 / (sigma**2 * np.maximum(np.square(shrink).sum(axis=(1, 2)), 1e-12))
        blocks = (haar.T @ group) @ inv
        agg.add(pix, blocks, weights)
    return agg.image()


def prefilter_2d(noisy: np.ndarray, sigma: float, params: Any, cfg: BM3DConfig) -> np.ndarray:
    """Each block of the reference grid hard-thresholded alone in 2-D, aggregated (matching aid)."""
    from berth.hardware.blockmatch import ref_positions

    block = int(params.block)
    ry = ref_positions(noisy.shape[0], block, int(params.stride))
    rx = ref_positions(noisy.shape[1], block, int(params.stride))
    refs = np.stack(np.meshgrid(ry, rx, indexing="ij"), axis=-1).reshape(-1, 2)
    singles = SimpleNamespace(refs=refs, offsets=np.zeros((len(refs), 1, 2), dtype=np.int64),
                              count=np.ones(len(refs), dtype=np.int64))
    return hard_threshold_stage(noisy, sigma, singles, block, replace(cfg, lambda3d=cfg.prefilter_lambda))


def bm3d(noisy: np.ndarray, sigma: float, matcher: Matcher, params_ht: Any, params_wiener: Any,
         cfg: BM3DConfig = BM3DConfig()) -> BM3DResult:
    """Denoise ``noisy`` (float, 0..255 scale, known noise ``sigma``) with both BM3D stages.

    ``matcher(pixels, params)`` groups blocks; it sees ``clip(round(.))`` 8-bit pixels of the noisy
    (or, above ``cfg.prefilter_above``, prefiltered) image (stage 1, with ``params_ht``) and of the
    basic estimate (stage 2, with ``params_wiener``).
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
    guide = prefilter_2d(noisy, sigma, params_ht, cfg) if sigma > cfg.prefilter_above else noisy
    match_ht = matcher(to_pixels(guide), params_ht)
    basic = hard_threshold_stage(noisy, sigma, match_ht, block, cfg)
    match_wiener = matcher(to_pixels(basic), params_wiener)
    final = wiener_stage(noisy, basic, sigma, match_wiener, block, cfg)
    return BM3DResult(basic=basic, final=final, match_ht=match_ht, match_wiener=match_wiener)
