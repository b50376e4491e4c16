"""Exact, nested, sparse sampling of i.i.d. Bernoulli(p) bit positions.

Why this design: a persistent chip must flip a fixed set of bits that is a pure function of
(chip, tensor name, element, bit, p), nested in p (every bit flipped at p is flipped at every
p' > p) and cheap for small p (work O(p * bits), not one random number per bit), at a cost close
to a plain copy of the weights.

How: rates form a ladder of levels k = 0..T-1 with p_k = 2^(-k/2) (half an octave apart) plus a
tail level T = 40 (p_T = 2^-20). Level k independently holds each position with rate
r_k = (p_k - p_{k+1}) / (1 - p_{k+1}) (the tail: r_T = p_T), so the union of levels k+1..T holds a
position with probability exactly p_{k+1}. For p in (p_{k+1}, p_k], level k is thinned by a
uniform mark per point, keeping it when mark < t(p) with 1 - p = (1 - p_{k+1})(1 - r_k t); for
p <= p_T the tail alone is thinned with t = p / p_T. Each position is thus included independently
with probability p, and the sets are nested in p.

A tensor's elements are cut into blocks of 2^18; each (block, bit plane, level) is its own stream,
seeded by hashing (stream name, chip, tensor name) with (block, plane, level), and walked by
geometric gaps floor(E / -log(1 - r)) + 1 with E an exact Exp(1) variate (ziggurat) of a
counter-based splitmix64 generator. So the points of bit plane b are the same whatever the word
width, the tensor's place in the model or the other tensors, and the work is independent per
block (``quant.kernels.walk`` runs blocks in parallel; results do not depend on the thread count).
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np

from quant import kernels

STEPS = 2  # ladder levels per octave
TAIL = 20 * STEPS  # tail level: p_T = 2^-20
BLOCK = 1 << 18  # elements per independent stream block
NEVER = TAIL + 1  # "level" of p = 0: no point is included


def level_p(level: int) -> float:
    """Inclusion probability of the union of levels >= ``level``: 2^(-level / STEPS)."""
    return 2.0 ** (-level / STEPS)


def level_rate(level: int) -> float:
    """Inclusion rate r_k of one level (the tail's is p_T)."""
    if level == TAIL:
        return level_p(TAIL)
    p_k, p_next = level_p(level), level_p(level + 1)
    return (p_k - p_next) / (1.0 - p_next)


def _inverse_lambdas() -> np.ndarray:
    """1 / -log(1 - r_k) per level (0 for rate 1: every gap is 1)."""
    rates = np.array([level_rate(k) for k in range(TAIL + 1)])
    inv = np.zeros_like(rates)
    partial = rates < 1.0
    inv[partial] = -1.0 / np.log1p(-rates[partial])
    return inv


INV_LAMBDA = _inverse_lambdas()
ZIGGURAT = kernels.ziggurat_tables()


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


@lru_cache(maxsize=1024)
def ladder_position(p: float) -> tuple[int, float]:
    """(level_of(p), thin_threshold(p)), cached: a sweep asks for the same few rates per tensor."""
    return level_of(p), thin_threshold(p)


def thin_threshold(p: float) -> float:
    """Mark threshold t(p) of the thinned level (in [0, 1])."""
    k = level_of(p)
    if k == NEVER:
        return 0.0
    if k == TAIL:
        return p / level_p(TAIL)
    t = (1.0 - (1.0 - p) / (1.0 - level_p(k + 1))) / level_rate(k)
    return min(1.0, max(0.0, t))


@lru_cache(maxsize=1 << 14)
def stream_key(stream: str, chip: int, tensor: str) -> tuple[np.uint64, np.uint64]:
    """128-bit key of (stream name, chip, tensor name)."""
    digest = hashlib.blake2b(f"{stream}\0{int(chip)}\0{tensor}".encode(), digest_size=16).digest()
    key0, key1 = np.frombuffer(digest, dtype=np.uint64)
    return key0, key1


@lru_cache(maxsize=256)
def plane_xors(bits: int, dtype: np.dtype, sign_extend: bool) -> np.ndarray:
    """What flipping bit plane b XORs into a stored container word.

    ``1 << b``, except the top plane of a signed code narrower than its container, which also
    flips the container bits above it so the stored code stays sign-extended.
    """
    xors = [1 << b for b in range(bits)]
    width = dtype.itemsize * 8
    if sign_extend and bits < width:
        xors[-1] = ((1 << width) - 1) ^ ((1 << (bits - 1)) - 1)
    out = np.array(xors, dtype=dtype)
    out.flags.writeable = False  # shared by the cache
    return out


def flip_bits(words: np.ndarray, bits: int, allowed: int, stream: str, chip: int, tensor: str,
              p0: float, p1: float, sign_extend: bool = False) -> np.ndarray:
    """A copy of ``words`` (unsigned containers of ``bits``-bit codes) with the sampled bits flipped.

    A bit holding 0 flips when its position is included at rate ``p0``, a bit holding 1 at ``p1``;
    only planes set in ``allowed`` are touched.
    """
    out = np.empty_like(words)
    _walk(words, out, kernels.FLIP, bits, allowed, stream, chip, tensor, p0, p1, sign_extend)
    return out


def sampled_mask(n: int, bits: int, allowed: int, stream: str, chip: int, tensor: str, p: float,
                 dtype: np.dtype) -> np.ndarray:
    """Per word, the OR of the bits included at rate ``p`` (words of ``dtype``)."""
    out = np.zeros(n, dtype=dtype)
    _walk(out, out, kernels.MARK, bits, allowed, stream, chip, tensor, p, p, False)
    return out


def _walk(src: np.ndarray, out: np.ndarray, mode: int, bits: int, allowed: int, stream: str, chip: int,
          tensor: str, p0: float, p1: float, sign_extend: bool) -> None:
    """Run the compiled walk (``quant.kernels.walk_block``) of one tensor's streams over ``src``."""
    (k0, t0), (k1, t1) = ladder_position(float(p0)), ladder_position(float(p1))
    first = min(k0, k1)
    if first == NEVER or allowed == 0 or src.size == 0:
        if mode == kernels.FLIP:
            out[...] = src
        return
    key0, key1 = stream_key(stream, chip, tensor)
    args = (src, out, mode, key0, key1, allowed, plane_xors(bits, src.dtype, sign_extend), first,
            k0, t0, k1, t1, INV_LAMBDA, BLOCK, *ZIGGURAT)
    if src.size <= BLOCK:  # one block: skip the cost of starting the thread pool
        kernels.walk_block(0, *args)
    else:
        kernels.walk(*args)
