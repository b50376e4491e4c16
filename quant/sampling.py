"""Exact, nested, sparse sampling of i.i.d. Bernoulli(p) bit positions.

Why this design: a persistent chip must flip a fixed set of bits that is a pure function of
(chip, tensor name, element, bit, p), nested in p (every bit flipped at p is flipped at every
p' > p) and cheap for small p (work and memory O(p * bits), not one random number per bit).

How: rates are split into a ladder of levels k = 0..T-1 with p_k = 2^-k plus a tail level T
(p_T = 2^-T). Level k independently holds each position with rate
r_k = (p_k - p_{k+1}) / (1 - p_{k+1}) (the tail: r_T = p_T), so the union of levels k+1..T holds a
position with probability exactly p_{k+1}. For p in (p_{k+1}, p_k], level k is thinned by a
uniform mark per point, keeping it when mark < t(p) with 1 - p = (1 - p_{k+1})(1 - r_k t).
For p <= p_T the tail alone is thinned with t = p / p_T. Each position is thus included
independently with probability p, and the sets are nested in p.

Each level is drawn by geometric gap sampling from a counter-based Philox stream keyed by
(stream, chip, tensor) at counter = level, over positions ``plane * n + element`` in chunks whose
size depends only on n and the rate: the points of bit plane b are the same whatever the word
width, the tensor's place in the model or the other tensors. A point also carries one
independent fair coin (used e.g. for the value of a stuck-at cell).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

LEVELS = 20  # tail level: p_T = 2^-20 ~ 9.5e-7
_P = 2.0 ** -np.arange(LEVELS + 1)
_R = np.empty(LEVELS + 1)
_R[:LEVELS] = (_P[:LEVELS] - _P[1:]) / (1.0 - _P[1:])
_R[LEVELS] = _P[LEVELS]
_TWO53 = 2.0**-53


@dataclass(frozen=True)
class Points:
    """Sampled bits of one level, sorted plane-major.

    ``elem[bounds[b]:bounds[b+1]]`` are the (distinct, sorted) elements whose bit ``b`` is
    included; ``mark`` in [0,1) is the thinning mark of each point.
    """

    elem: np.ndarray
    bounds: np.ndarray
    mark: np.ndarray

    def select(self, keep: np.ndarray) -> "Points":
        """The points where ``keep`` is true (bounds recomputed)."""
        bounds = np.concatenate([[0], np.cumsum(keep)])[self.bounds]
        return Points(self.elem[keep], bounds, self.mark[keep])

    def planes(self) -> "list[tuple[int, np.ndarray]]":
        """(plane, elements) for each non-empty bit plane."""
        out = []
        for b in range(len(self.bounds) - 1):
            lo, hi = self.bounds[b], self.bounds[b + 1]
            if hi > lo:
                out.append((b, self.elem[lo:hi]))
        return out


def stream_key(stream: str, chip: int, tensor: str) -> np.ndarray:
    """128-bit Philox key for (stream, chip, tensor name)."""
    digest = hashlib.blake2b(f"{stream}\0{int(chip)}\0{tensor}".encode(), digest_size=16).digest()
    return np.frombuffer(digest, dtype=np.uint64).copy()


def level_of(p: float) -> int:
    """The ladder level thinned at rate p (LEVELS for p <= p_T)."""
    if p <= _P[LEVELS]:
        return LEVELS
    return int(min(LEVELS - 1, math.floor(-math.log2(p))))


def thin_threshold(p: float) -> float:
    """Mark threshold t(p) of the thinned level."""
    k = level_of(p)
    if k == LEVELS:
        return p / _P[LEVELS]
    return (1.0 - (1.0 - p) / (1.0 - _P[k + 1])) / _R[k]


def sample_level(key: np.ndarray, level: int, n: int, planes: int) -> Points:
    """All points of ``level`` over ``planes * n`` positions (pure in key, level, n; prefix-stable in planes)."""
    rate = _R[level]
    total = planes * n
    gen = np.random.Philox(key=key, counter=np.array([0, 0, level, 0], dtype=np.uint64))
    mean = n * rate
    chunk = int(mean + 4.0 * math.sqrt(mean * (1.0 - rate)) + 16)
    log1m = math.log1p(-rate) if rate < 1.0 else -math.inf
    pos_parts, mark_parts = [], []
    last = -1
    while last < total - 1:
        raw = gen.random_raw(2 * chunk)
        u = ((raw[0::2] >> np.uint64(11)).astype(np.float64) + 1.0) * _TWO53
        gaps = np.floor(np.log(u) / log1m).astype(np.int64) + 1
        pos = last + np.cumsum(gaps)
        pos_parts.append(pos)
        mark_parts.append((raw[1::2] >> np.uint64(11)).astype(np.float64) * _TWO53)
        last = int(pos[-1])
    pos = np.concatenate(pos_parts)
    keep = pos < total
    pos, mark = pos[keep], np.concatenate(mark_parts)[keep]
    bounds = np.searchsorted(pos, np.arange(planes + 1) * n)
    plane = np.repeat(np.arange(planes), np.diff(bounds))
    return Points(pos - plane * n, bounds, mark)


class NestedSampler:
    """Bernoulli(p) position sets of one chip, nested in p, with the levels cached once drawn."""

    def __init__(self, stream: str, chip: int):
        self.stream = stream
        self.chip = int(chip)
        self._cache: dict[tuple[str, int, int, int], Points] = {}

    def level(self, tensor: str, level: int, n: int, planes: int) -> Points:
        """Points of one level for one tensor (cached)."""
        key = (tensor, level, n, planes)
        if key not in self._cache:
            self._cache[key] = sample_level(stream_key(self.stream, self.chip, tensor), level, n, planes)
        return self._cache[key]

    def sample(self, tensor: str, n: int, planes: int, p: float) -> list[Points]:
        """The bits included at rate p, one Points per level (a bit may appear in several levels)."""
        if p <= 0.0:
            return []
        k = level_of(p)
        t = thin_threshold(p)
        parts = []
        for lv in range(k, LEVELS + 1):
            pts = self.level(tensor, lv, n, planes)
            if lv == k and t < 1.0:
                pts = pts.select(pts.mark < t)
            parts.append(pts)
        return parts

    def clear(self) -> None:
        """Drop cached levels (memory is O(p_max * bits) per tensor while cached)."""
        self._cache.clear()
