"""Exact, nested, sparse sampling of i.i.d. Bernoulli(p) bit positions.

Why this design: a persistent chip must flip a fixed set of bits that is a pure function of
(chip, tensor name, element, bit, p), nested in p (every bit flipped at p is flipped at every
p' > p) and cheap for small p (work O(p * bits), not one random number per bit), at a cost close
to a plain copy of the weights.

How: a position is included at rate p when a Poisson process of intensity -log(1 - p) per
position puts a point on it (probability 1 - exp(log(1 - p)) = p). That process is the sum of a
ladder of independent levels k = 0..T: the union of levels >= k has intensity
-log(1 - p_k) with p_k = 2^(-k/2) (half an octave apart) down to the tail T = 40 (p_T = 2^-20),
so level k alone has intensity lambda_k = log(1 - p_{k+1}) - log(1 - p_k) (the tail's is
-log(1 - p_T); level 0's is infinite: one point on every position). For p in (p_{k+1}, p_k],
levels above k are kept whole and each point of level k is kept when its uniform mark is under
t(p) = (-log(1 - p) + log(1 - p_{k+1})) / lambda_k (level 0: t = 1 - (1 - p) / (1 - p_1)), so the
kept points have intensity exactly -log(1 - p), and the sets are nested in p. Marks are 46-bit
integers, so t is exact to 2^-46.

A tensor's elements are cut into blocks of 2^18; each (block, bit plane, level) is its own
stream, seeded by hashing (stream name, chip, tensor name) with (block, plane, level): "how many
points, then where" — an exact Poisson count for the block, then one counter-based splitmix64
hash per point giving its position and its mark (``berth.quant.kernels.scatter_block``). A tensor's last,
partial block is drawn over the smallest power of two that holds it (positions past the end are
dropped), so its points also depend on the tensor's length (fixed for a given tensor). So the
points of bit plane b are the same whatever the word width, the tensor's place in the model or
the other tensors, and the work is independent per block (blocks run in parallel; results do not
depend on the thread count).

Tensors stored back to back in one buffer (``Packing``, as ``berth.quant.memory.WeightMemory`` keeps a
model's codes) are sampled by one compiled call over all their blocks (``flip_words``): for a
small model, per-tensor calls from Python cost more than the flips.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from berth.quant import kernels

STEPS = 2  # ladder levels per octave
TAIL = 20 * STEPS  # tail level: p_T = 2^-20
BLOCK_BITS = 18  # 2^18 elements per independent stream block (the low bits of a point's hash)
NEVER = TAIL + 1  # "level" of p = 0: no point is included
assert BLOCK_BITS + kernels.MARK_BITS <= 64, "a point's hash holds its position and its mark"


def level_p(level: int) -> float:
    """Inclusion probability of the union of levels >= ``level``: 2^(-level / STEPS)."""
    return 2.0 ** (-level / STEPS)


def union_intensity(level: int) -> float:
    """Intensity of the union of levels >= ``level``: -log(1 - p_level) (0 past the tail)."""
    return 0.0 if level > TAIL else -math.log1p(-level_p(level))


def level_rate(level: int) -> float:
    """Intensity lambda_k of one level, in points per position (infinite for level 0)."""
    if level == 0:
        return math.inf
    return union_intensity(level) - union_intensity(level + 1)


RATE = np.array([level_rate(k) for k in range(TAIL + 1)])
RATE.flags.writeable = False
# Poisson constants per (level, virtual block of 2^span elements); level 0 (rate infinity) unused.
COUNTS = np.array([[kernels.poisson_constants(RATE[k] * 2.0**span if k else 0.0) for span in range(BLOCK_BITS + 1)]
                   for k in range(TAIL + 1)])
COUNTS.flags.writeable = False


def level_of(p: float) -> int:
    """The ladder level thinned at rate p: p_{k+1} < p <= p_k (the tail for p <= p_T, NEVER for 0)."""
    if p <= 0.0:
        return NEVER
    if p <= level_p(TAIL):
        return TAIL
    k = min(TAIL - 1, max(0, math.floor(-STEPS * math.log2(p))))
    while k > 0 and level_p(k) < p:  # guard the float boundaries of the floor above
        k -= 1
    while k < TAIL - 1 and level_p(k + 1) >= p:
        k += 1
    return k


def thin_threshold(p: float) -> float:
    """Share t(p) of the points of level k(p) that are kept (in [0, 1])."""
    k = level_of(p)
    if k == NEVER:
        return 0.0
    if k == 0:  # one point per position: Bernoulli thinning
        t = 1.0 - (1.0 - p) / (1.0 - level_p(1))
    else:
        t = (-math.log1p(-p) - union_intensity(k + 1)) / level_rate(k)
    return min(1.0, max(0.0, t))


@lru_cache(maxsize=1024)
def mark_thresholds(p: float) -> tuple[int, np.ndarray]:
    """(k(p), per-level mark thresholds): 0 above k(p)'s rate, t(p) * 2^46 at it, 2^46 below.

    Cached (read-only): a sweep asks for the same few rates for every tensor.
    """
    k = level_of(p)
    thr = np.zeros(TAIL + 1, dtype=np.uint64)
    if k != NEVER:
        one = 1 << kernels.MARK_BITS
        thr[k + 1:] = one
        thr[k] = min(one, math.floor(thin_threshold(p) * one))
    thr.flags.writeable = False
    return k, thr


class Packing(NamedTuple):
    """How tensors lie back to back in one buffer of unsigned container words, in buffer order:
    per tensor its name, size, code width and whether its codes are sign-extended in the container."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    bits: tuple[int, ...]
    sign_extend: tuple[bool, ...]


@lru_cache(maxsize=1024)
def stream_keys(stream: str, chip: int, tensors: tuple[str, ...]) -> np.ndarray:
    """128-bit key of (stream name, chip, tensor name) per tensor: rows (key0, key1).

    Cached (read-only): a sweep evaluates each chip at several rates.
    """
    prefix = f"{stream}\0{int(chip)}\0"
    digests = b"".join(hashlib.blake2b(f"{prefix}{t}".encode(), digest_size=16).digest() for t in tensors)
    return np.frombuffer(digests, dtype=np.uint64).reshape(len(tensors), 2)  # read-only: bytes


@lru_cache(maxsize=256)
def plane_xors(bits: tuple[int, ...], sign_extend: tuple[bool, ...], dtype: np.dtype) -> np.ndarray:
    """Per tensor (row) and bit plane b (column), what flipping b XORs into a stored container word.

    ``1 << b``, except the top plane of a signed code narrower than its container, which also
    flips the container bits above it so the stored code stays sign-extended. Planes at and above
    a tensor's width hold 0 (they are never allowed).
    """
    width = dtype.itemsize * 8
    out = np.zeros((len(bits), width), dtype=dtype)
    for row, (m, extend) in enumerate(zip(bits, sign_extend)):
        xors = [1 << b for b in range(m)]
        if extend and m < width:
            xors[-1] = ((1 << width) - 1) ^ ((1 << (m - 1)) - 1)
        out[row, :m] = xors
    out.flags.writeable = False  # shared by the cache
    return out


@lru_cache(maxsize=256)
def work_units(sizes: tuple[int, ...], workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(units, order, starts) of tensors packed back to back: what ``kernels.scatter`` runs.

    A unit is one block of one tensor, a row (tensor, its first element, its size, block index).
    Units go to ``workers`` by longest first onto the least loaded worker (a unit costs about its
    virtual block size plus a fixed share for its streams); worker w runs
    ``order[starts[w]:starts[w + 1]]``. The split only balances time: every unit's bits are the
    same whichever worker runs it.
    """
    rows, offset = [], 0
    for t, n in enumerate(sizes):
        rows += [(t, offset, n, b) for b in range(-(-n // (1 << BLOCK_BITS)))]
        offset += n
    units = np.array(rows, dtype=np.int64).reshape(-1, 4)
    virtual = [1 << (min(n - (b << BLOCK_BITS), 1 << BLOCK_BITS) - 1).bit_length() for _, _, n, b in rows]
    load, share = [0] * workers, [[] for _ in range(workers)]
    for u in sorted(range(len(rows)), key=lambda u: -virtual[u]):
        w = load.index(min(load))
        share[w].append(u)
        load[w] += virtual[u] + (1 << 12)
    order = np.array([u for s in share for u in s], dtype=np.int64)
    starts = np.cumsum([0] + [len(s) for s in share]).astype(np.int64)
    for a in (units, order, starts):
        a.flags.writeable = False
    return units, order, starts


def flip_words(words: np.ndarray, packing: Packing, allowed: tuple[int, ...], stream: str, chip: int,
               p0: float, p1: float) -> np.ndarray:
    """A copy of ``words`` (tensors back to back as ``packing`` says) with the sampled bits flipped.

    A bit holding 0 flips when its position is included at rate ``p0``, a bit holding 1 at
    ``p1``; only planes set in the tensor's ``allowed`` mask are touched. One compiled pass
    covers every tensor; tensors and blocks run in parallel.
    """
    out = np.empty_like(words)
    _scatter(words, out, kernels.FLIP, packing, allowed, stream, chip, p0, p1)
    return out


def flip_bits(words: np.ndarray, bits: int, allowed: int, stream: str, chip: int, tensor: str,
              p0: float, p1: float, sign_extend: bool = False) -> np.ndarray:
    """``flip_words`` for the words of one tensor."""
    return flip_words(words, Packing((tensor,), (words.size,), (bits,), (sign_extend,)), (allowed,), stream, chip,
                      p0, p1)


def sampled_mask(n: int, bits: int, allowed: int, stream: str, chip: int, tensor: str, p: float,
                 dtype: np.dtype) -> np.ndarray:
    """Per word, the OR of the bits included at rate ``p`` (words of ``dtype``)."""
    out = np.zeros(n, dtype=dtype)
    _scatter(out, out, kernels.MARK, Packing((tensor,), (n,), (bits,), (False,)), (allowed,), stream, chip, p, p)
    return out


def _scatter(src: np.ndarray, out: np.ndarray, mode: int, packing: Packing, allowed: tuple[int, ...], stream: str,
             chip: int, p0: float, p1: float) -> None:
    """Run the compiled scatter (``berth.quant.kernels.scatter``) of the packed tensors' streams over ``src``."""
    (k0, thr0), (k1, thr1) = mark_thresholds(float(p0)), mark_thresholds(float(p1))
    first = min(k0, k1)
    if first == NEVER or not any(allowed) or src.size == 0:
        if mode == kernels.FLIP:
            out[...] = src
        return
    workers = 1 if src.size <= 1 << BLOCK_BITS else kernels.threads()
    units, order, starts = work_units(packing.sizes, workers)
    args = (src, out, mode, units, order, starts, stream_keys(stream, chip, packing.names),
            np.array(allowed, np.int64), plane_xors(packing.bits, packing.sign_extend, src.dtype), first, thr0, thr1,
            RATE, COUNTS, BLOCK_BITS)
    if workers == 1:  # skip the cost of starting (and entering) the thread pool
        kernels.scatter_serial(*args)
    else:
        kernels.parallel(kernels.scatter, *args)
