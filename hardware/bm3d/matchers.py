"""BM3D with the hardware's block matcher: reference parameters, pixel precision, line-buffer errors.

The matcher is always the golden model ``berth.hardware.blockmatch.block_match`` (bit-exact to the RTL
and the HLS kernel). Two hardware savings are modelled around it, outside the spec'd core:

* **Fewer pixel bits.** A ``b``-bit datapath keeps the top ``b`` bits of each pixel
  (``pixel >> (8 - b)``); the threshold is scaled with the distance (``tau / 4^(8-b)`` for SSD,
  ``tau / 2^(8-b)`` for SAD), so the same blocks stay eligible on average.
* **Bit errors in the line buffers.** Pixels held in low-voltage line buffers are corrupted by
  berth's ``berth.quant.faults.RandomBitErrors`` (i.i.d. flips at rate p on the stored pixel bits, a
  persistent chip: the same seed flips the same pixel bits, and the flips at p are a subset of
  those at any larger p). Only the matcher sees corrupted pixels; the filter reads its own copy.
  The same corrupted frame streamed into the RTL gives the golden model's matches on that frame.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from berth.core.errors import BerthError, check_range
from berth.hardware.blockmatch import BMParams, MatchResult, block_match
from berth.hardware.bm3d.core import BM3DConfig, BM3DResult, bm3d

# BM3D's tau_match (normal profile), in units of SSD / N1^2 on 8-bit pixels.
TAU_MATCH_HT = 3000
TAU_MATCH_WIENER = 400
K_HT = 16
K_WIENER = 32


def ssd_to_sad_tau(tau_ssd: int, block: int) -> int:
    """The SAD threshold equivalent to an SSD threshold for Gaussian differences.

    For a zero-mean Gaussian difference, E|e| = sqrt(2/pi) * RMS(e); an SSD threshold of
    ``tau_ssd`` allows RMS ``sqrt(tau_ssd / N1^2)``, hence ``N1^2 * sqrt(2/pi) * RMS``.
    """
    return max(1, int(round(np.sqrt(2.0 / np.pi * tau_ssd * block * block))))


def reference_params(metric: str = "ssd", block: int = 8, window: int = 39, stride: int = 3,
                     k_ht: int = K_HT, k_wiener: int = K_WIENER) -> tuple[BMParams, BMParams]:
    """Matcher parameters of BM3D's two stages (normal profile by default), for the hardware."""
    taus = [TAU_MATCH_HT * block * block, TAU_MATCH_WIENER * block * block]
    if metric == "sad":
        taus = [ssd_to_sad_tau(t, block) for t in taus]
    return (BMParams(block=block, window=window, stride=stride, metric=metric, k=k_ht, tau=taus[0]),
            BMParams(block=block, window=window, stride=stride, metric=metric, k=k_wiener, tau=taus[1]))


def reduce_pixel_bits(pixels: np.ndarray, params: BMParams, bits: int) -> tuple[np.ndarray, BMParams]:
    """Pixels and params of a ``bits``-bit datapath: top bits kept, threshold scaled to match."""
    check_range("pixel bits", bits, 1, 8)
    drop = 8 - int(bits)
    scale = (4 if params.metric == "ssd" else 2) ** drop
    return pixels >> drop, replace(params, tau=max(1, int(round(params.tau / scale))))


def line_buffer_errors(pixels: np.ndarray, p: float, chip: int, bits: int = 8) -> np.ndarray:
    """``pixels`` after i.i.d. bit flips at rate ``p`` on their low ``bits`` bits (persistent chip)."""
    from berth.quant.faults import RandomBitErrors  # imports torch; only needed with errors

    check_range("line-buffer bit error rate p", p, 0.0, 1.0)
    if p == 0:
        return pixels
    words = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)
    mask = RandomBitErrors(p, chip=chip).flip_mask("line_buffer", words, bits)
    return (words ^ mask.astype(np.uint8)).reshape(pixels.shape)


def hardware_matcher(pixel_bits: int = 8, p: float = 0.0, chip: int = 0) -> Callable[[np.ndarray, BMParams], MatchResult]:
    """The golden matcher behind a ``pixel_bits``-bit datapath whose line buffers flip bits at ``p``."""
    check_range("pixel bits", pixel_bits, 1, 8)
    check_range("line-buffer bit error rate p", p, 0.0, 1.0)

    def match(pixels: np.ndarray, params: BMParams) -> MatchResult:
        if pixel_bits < 8:
            pixels, params = reduce_pixel_bits(pixels, params, pixel_bits)
        pixels = line_buffer_errors(pixels, p, chip, pixel_bits)
        return block_match(pixels, params)

    return match


def denoise_with_hardware(noisy: np.ndarray, sigma: float, metric: str = "ssd", window: int = 39,
                          stride: int = 3, k_ht: int = K_HT, k_wiener: int = K_WIENER, pixel_bits: int = 8,
                          p: float = 0.0, chip: int = 0, block: int = 8,
                          cfg: BM3DConfig = BM3DConfig()) -> BM3DResult:
    """BM3D whose groups come from the hardware matcher with the given parameters."""
    if noisy.ndim != 2:
        raise BerthError(f"BM3D needs a 2-D grayscale image, got shape {noisy.shape}")
    params_ht, params_wiener = reference_params(metric, block, window, stride, k_ht, k_wiener)
    return bm3d(noisy, sigma, hardware_matcher(pixel_bits, p, chip), params_ht, params_wiener, cfg)
