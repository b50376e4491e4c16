"""Exact, nested, sparse sampling of i.i.d. Bernoulli(p) bit positions.

Why this design: a persistent chip must flip a fixed set of bits that is a pure function of
(chip, tensor name, element, bit, p), nested in p (every bit flipped at p is flipped at every
p' > p) and cheap for small p (work and memory O(p * bits), not one random number per bit).

How: rates are split into a ladder of levels k = 0..T-1 with p_k = 2^-k plus a tail level T
(p_T = 2^-T, with T the first level expecting at most one point in a 16-bit tensor of that size,
capped at 20: a pure function of the tensor's element count). Level k independently holds each position with rate
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

MAX_TAIL = 20  # deepest tail level: p_T = 2^-20 ~ 9.5e-7
_TWO53 = 2.0**-53


def tail_level(n: int) -> int:
    """Tail level T for a tensor of ``n`` elements: 16 * n * 2^-T <= 1, at most MAX_TAIL."""
    return int(min(MAX_TAIL, max(1, math.ceil(math.log2(16 * max(n, 1))))))


def level_rate(level: int, tail: int) -> float:
    """Inclusion rate r_k of a level (the tail's is p_T)."""
    if level == tail:
        return 2.0**-tail
    p_k, p_next = 2.0**-level, 2.0 ** -(level + 1)
    return (p_k - p_next) / (1.0 - p_next)


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


def level_of(p: float, tail: int) -> int:
    """The ladder level thinned at rate p (the tail for p <= p_T)."""
    if p <= 2.0**-tail:
        return tail
    return int(min(tail - 1, math.floor(-math.log2(p))))


def thin_threshold(p: float, tail: int) -> float:
    """Mark threshold t(p) of the thinned level."""
    k = level_of(p, tail)
    if k == tail:
        return p * 2.0**tail
    return (1.0 - (1.0 - p) / (1.0 - 2.0 ** -(k + 1))) / level_rate(k, tail)


def sample_level(key: np.ndarray, level: int, n: int, planes: int) -> Points:
    """All points of ``level`` over ``planes * n`` positions (pure in key, level, n; prefix-stable in planes)."""
    rate = level_rate(level, tail_level(n))
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
        tail = tail_level(n)
        k = level_of(p, tail)
        t = thin_threshold(p, tail)
        parts = []
        for lv in range(k, tail + 1):
            pts = self.level(tensor, lv, n, planes)
            if lv == k and t < 1.0:
                pts = pts.select(pts.mark < t)
            parts.append(pts)
        return parts

    def clear(self) -> None:
        """Drop cached levels (memory is O(p_max * bits) per tensor while cached)."""
        self._cache.clear()
