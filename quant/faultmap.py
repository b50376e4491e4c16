"""A chip's random bit errors drawn once, then applied at any rate up to the one drawn for.

Why: a chip is persistent: its weak cells are fixed, and the rate p (the supply voltage) only
decides how many of them fail, nested in p. Stutz et al. model a chip as one stored uniform per
bit, drawn once and compared with p at every rate. ``berth.quant.sampling`` draws the same nested sets
sparsely, but afresh on every call, and drawing is what costs: a Poisson count per stream and a
hash per point. A ``FaultMap`` keeps the drawn points: for each bit that some p <= ``p_max``
flips, the point that flips it at the lowest rate (its element and its mark), grouped by block,
bit plane and ladder level. Applying it at p keeps the levels deeper than k(p) whole and thins
level k(p) by mark, exactly as the sampler does: the flipped bits equal ``sampling.flip_words``
at the same (chip, p) bit for bit (tests assert it). A sweep draws each chip once at its highest
rate and applies it at every rate: a copy of the words plus one XOR per flipped bit.

Memory: 12 bytes per drawn point (a uint32 element, a uint64 mark). The arrays are sized for every
point drawn at the levels p_max reaches, kept or not: about p_max * bits points, up to twice that
for short tensors (their last block is drawn over a power of two).
"""

from __future__ import annotations

import numpy as np

from berth.core.errors import BerthError
from berth.quant import drawn_kernels, kernels
from berth.quant.sampling import (BLOCK_BITS, COUNTS, NEVER, RATE, Packing, mark_thresholds, plane_xors, stream_keys,
                            work_units)


POINT_BYTES = 12  # a uint32 element and a uint64 mark


def drawn_bytes(bits: int, p_max: float) -> float:
    """About the most memory a chip drawn up to ``p_max`` over ``bits`` stored bits holds (twice
    p_max * bits points: short tensors are drawn over a power of two)."""
    return 2 * p_max * bits * POINT_BYTES


class FaultMap:
    """The points one chip's stream keeps at some p <= ``p_max`` over a buffer of ``dtype`` words
    packed as ``packing``.

    ``rel`` (uint32: each point's element in its block), ``marks`` (uint64: its 46-bit mark) and
    ``starts`` (int64, units x planes x levels + 1: where each stream's points begin) are what
    ``drawn_kernels.draw_points`` returns; ``first`` is the shallowest level drawn, k(p_max).
    """

    def __init__(self, packing: Packing, dtype: np.dtype, p_max: float, first: int, rel: np.ndarray,
                 marks: np.ndarray, starts: np.ndarray):
        self.packing, self.dtype, self.p_max, self.first = packing, np.dtype(dtype), p_max, first
        self.rel, self.marks, self.starts = rel, marks, starts
        self.size = sum(packing.sizes)
        # What every apply passes the kernel, worked out once: a chip is applied at many rates.
        self.workers = 1 if self.size <= 1 << BLOCK_BITS else kernels.threads()
        xors = plane_xors(packing.bits, packing.sign_extend, self.dtype)
        self._plan = (*work_units(packing.sizes, self.workers), xors)

    @classmethod
    def draw(cls, packing: Packing, allowed: tuple[int, ...], dtype: np.dtype, stream: str, chip: int,
             p_max: float) -> FaultMap:
        """Draw chip ``chip``'s points of ``stream`` up to rate ``p_max`` (in [0, 1]) on the planes
        ``allowed`` per tensor."""
        first, thr = mark_thresholds(float(p_max))
        units, order, starts_w = work_units(packing.sizes, kernels.threads())
        width = max(packing.bits, default=0)
        if first == NEVER or not any(allowed) or not units.size:
            empty = np.zeros((len(units), width, RATE.size + 1), dtype=np.int64)
            return cls(packing, dtype, float(p_max), NEVER, np.zeros(0, np.uint32), np.zeros(0, np.uint64), empty)
        points = kernels.parallel(drawn_kernels.draw_points, units, order, starts_w,
                                  stream_keys(stream, chip, packing.names), np.array(allowed, np.int64), width, first,
                                  thr, RATE, COUNTS, BLOCK_BITS)
        return cls(packing, dtype, float(p_max), first, *points)

    @property
    def points(self) -> int:
        """How many points the map holds: the bits the chip flips at p_max (with one rate)."""
        return 0 if self.first == NEVER else int((self.starts[:, :, -1] - self.starts[:, :, self.first]).sum())

    @property
    def nbytes(self) -> int:
        """Memory the drawn points hold."""
        return self.rel.nbytes + self.marks.nbytes + self.starts.nbytes

    def apply(self, words: np.ndarray, p0: float, p1: float) -> np.ndarray:
        """A copy of ``words`` with the bits flipped that the chip flips at rates ``p0`` (bits
        holding 0) and ``p1`` (bits holding 1), each at most ``p_max``."""
        for name, p in (("p01", p0), ("p10", p1)):
            if not 0.0 <= p <= self.p_max:
                raise BerthError(f"bit error rate {name}={p:g} is outside [0, {self.p_max:g}], the rates this chip "
                                 f"was drawn for")
        if words.size != self.size or words.dtype != self.dtype:
            raise BerthError(f"{words.size} {words.dtype} words given to a chip drawn over {self.size} {self.dtype}")
        (k0, thr0), (k1, thr1) = mark_thresholds(p0), mark_thresholds(p1)
        first = min(k0, k1)
        if first == NEVER or self.first == NEVER:
            return words.copy()
        out = np.empty_like(words)
        args = (words, out, *self._plan, BLOCK_BITS, first, thr0, thr1, p0 != p1, self.starts, self.rel, self.marks)
        if self.workers == 1:
            drawn_kernels.apply_points_serial(*args)
        else:
            kernels.parallel(drawn_kernels.apply_points, *args)
        return out
