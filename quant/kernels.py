"""Compiled inner loop of the bit-error sampler (numba).

``quant.sampling`` owns the semantics (the ladder of rates, stream keys, what a chip flips); this
module holds only what must run at memory speed: a counter-based random number per draw, an exact
Poisson count per stream, and the scatter of each stream's points onto bit positions, flipping
or marking them in place.

Every draw is a pure function of (stream seed, draw index), so results do not depend on the
number of threads or the order blocks run in. Floating point is strict (no fastmath) so a chip is
the same on every machine with the same libm.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import torch

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64 increment
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
COUNT_SALT = np.uint64(0x5851F42D4C957F2D)  # sub-stream of a stream's Poisson count
MARK_BITS = 46  # a point's hash: low bits = position in its block, high 46 bits = mark (kept when under a threshold)

CHUNK = 64  # points hashed per vector batch before they are placed
FLIP, MARK = 0, 1  # modes: flip bits of a copy of src / OR the sampled bits into out


@nb.njit(inline="always", cache=True)
def mix(z):
    """splitmix64 finaliser: a bijective 64-bit hash (the counter-based generator)."""
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


@nb.njit(inline="always", cache=True)
def unit(h):
    """Uniform in [0, 1) from the top 53 bits of a hash."""
    return float(np.int64(h >> np.uint64(11))) * 2.0**-53


@nb.njit(inline="always", cache=True)
def draw(s, i):
    """Hash number ``i`` of stream ``s`` (pure in s and i)."""
    return mix(s + np.uint64(i + 1) * GOLDEN)


PTRS_FROM = 10.0  # means from here on use transformed rejection, below it Knuth's product


def poisson_constants(mean: float) -> np.ndarray:
    """What ``poisson`` needs for one mean, computed once (mean, exp(-mean), then PTRS's constants)."""
    if not mean < PTRS_FROM:
        b = 0.931 + 2.53 * math.sqrt(mean)
        a = -0.059 + 0.02483 * b
        ptrs = (math.log(mean), b, a, math.log(1.1239 + 1.1328 / (b - 3.4)), 0.9277 - 3.6224 / (b - 2.0))
    else:
        ptrs = (0.0,) * 5
    return np.array((mean, math.exp(-mean), *ptrs))


@nb.njit(inline="always", cache=True)
def poisson(s, table, row, col):
    """An exact Poisson variate from the uniforms of stream ``s``; ``table[row, col]`` holds
    ``poisson_constants(mean)``.

    Below mean 10: Knuth's product of uniforms; above: Hörmann's transformed rejection (PTRS,
    1993), as numpy uses. Both are exact given exact uniforms.
    """
    mean = table[row, col, 0]
    if mean < PTRS_FROM:
        prod, k, limit = unit(draw(s, 0)), 0, table[row, col, 1]
        while prod > limit:
            k += 1
            prod *= unit(draw(s, k))
        return k
    log_mean, b, a = table[row, col, 2], table[row, col, 3], table[row, col, 4]
    log_inv_alpha, v_r = table[row, col, 5], table[row, col, 6]
    i = 0
    while True:
        u = unit(draw(s, i)) - 0.5
        v = unit(draw(s, i + 1))
        i += 2
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= v_r:
            return np.int64(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + log_inv_alpha - math.log(a / (us * us) + b) <= -mean + k * log_mean - math.lgamma(k + 1.0):
            return np.int64(k)


_pool_started = False


def start_pool() -> None:
    """Start numba's thread pool now, without changing torch's thread count.

    Numba's OpenMP pool shares libgomp with torch, and starting it (the first parallel call,
    ``numba.get_num_threads()`` or ``numba.set_num_threads()`` in a process) resets the calling
    thread's OpenMP thread count, which torch reads as its own: a run on one torch thread would
    silently train on all cores after its first chip, and change its float summation order.
    """
    global _pool_started
    if _pool_started:
        return
    threads = torch.get_num_threads()
    nb.get_num_threads()  # launches the pool
    torch.set_num_threads(threads)
    _pool_started = True


def parallel(kernel, *args):
    """Call a ``parallel=True`` kernel (``start_pool`` first, so torch keeps its thread count)."""
    start_pool()
    return kernel(*args)


@nb.njit(parallel=True, cache=True)
def lookup(table, index, out):
    """``out[i] = table[index[i]]`` (dequantization of codes through a per-value table)."""
    for i in nb.prange(index.size):
        out[i] = table[index[i]]


@nb.njit(inline="always", cache=True)
def plane_seed(key0, key1, block, plane):
    """Seed of a tensor key's (block, plane): the level streams below it are ``draw(seed, level)``."""
    ident = (np.uint64(block) << np.uint64(8)) | np.uint64(plane)
    return mix(key0 ^ mix(key1 + ident * GOLDEN))


@nb.njit(inline="always", cache=True)
def copy(src, out):
    """``out[:] = src`` for two equal-length views (numba's slice assignment is ~10x slower: not vectorized)."""
    for i in range(src.size):
        out[i] = src[i]


@nb.njit(inline="always", cache=True)
def place(src, out, mode, pos, plane, xor, h, thr):
    """Apply one point (hash ``h``) at element ``pos``, kept when its mark is under ``thr``.

    FLIP flips the bit once however many points fall on it; MARK ORs it in.
    """
    keep = (h >> np.uint64(64 - MARK_BITS)) < thr
    if mode == MARK:
        out[pos] |= xor * keep
    else:
        fresh = ((out[pos] ^ src[pos]) >> plane) & 1 == 0
        out[pos] ^= xor * (keep & fresh)


@nb.njit(inline="always", cache=True)
def scatter_block(b, src, out, mode, key0, key1, allowed, plane_xor, first, thr0, thr1, rate, counts, block_bits):
    """Flip (FLIP) or mark (MARK) the kept points of block ``b``, levels ``first`` and deeper.

    Elements are cut into blocks of 2^block_bits (the last one into the smallest power of two that
    holds it: its virtual size). Each (block, plane, level) stream is a Poisson process of
    ``rate[level]`` points per element: a Poisson count for the virtual block (2^span elements,
    constants ``counts[level, span]``), then that many hashes, each a uniform position (low bits;
    positions past the tensor are dropped) and a uniform 46-bit mark (high bits). Level 0 has rate
    infinity: one point on every element.
    ``thr0[level]`` / ``thr1[level]`` are the mark thresholds for bits holding 0 / 1. FLIP: ``out``
    = ``src`` with kept bits flipped (XOR ``plane_xor[plane]``, which sign-extends a narrow
    signed code). MARK: the bit of each kept point is ORed into ``out``.
    """
    e0 = b << block_bits
    size = min(src.size - e0, 1 << block_bits)
    span_bits = 0
    while (1 << span_bits) < size:
        span_bits += 1
    span_mask = np.uint64((1 << span_bits) - 1)
    if mode == FLIP:
        copy(src[e0:e0 + size], out[e0:e0 + size])
    hashes = np.empty(CHUNK, dtype=np.uint64)
    for plane in range(plane_xor.size):
        if not (allowed >> plane) & 1:
            continue
        xor = plane_xor[plane]
        seed = plane_seed(key0, key1, b, plane)
        for level in range(first, rate.size):
            s = draw(seed, level)
            t0, t1 = thr0[level], thr1[level]
            if math.isinf(rate[level]):  # every element holds one point, hash index = offset
                for i in range(size):
                    t = t1 if (src[e0 + i] >> plane) & 1 else t0
                    place(src, out, mode, e0 + i, plane, xor, draw(s, i), t)
                continue
            count = poisson(s ^ COUNT_SALT, counts, level, span_bits)
            if t0 == t1:  # one threshold (the common case): hashes in vectorizable chunks, no load of the bit
                for j0 in range(0, count, CHUNK):
                    m = min(CHUNK, count - j0)
                    for q in range(m):
                        hashes[q] = draw(s, j0 + q)
                    for q in range(m):
                        i = np.int64(hashes[q] & span_mask)
                        if i < size:
                            place(src, out, mode, e0 + i, plane, xor, hashes[q], t0)
            else:  # the threshold depends on the bit's value
                for j in range(count):
                    h = draw(s, j)
                    i = np.int64(h & span_mask)
                    if i < size:
                        t = t1 if (src[e0 + i] >> plane) & 1 else t0
                        place(src, out, mode, e0 + i, plane, xor, h, t)


@nb.njit(parallel=True, cache=True)
def scatter(src, out, mode, key0, key1, allowed, plane_xor, first, thr0, thr1, rate, counts, block_bits):
    """``scatter_block`` over every block of ``src``, blocks in parallel."""
    for b in nb.prange((src.size + (1 << block_bits) - 1) >> block_bits):
        scatter_block(b, src, out, mode, key0, key1, allowed, plane_xor, first, thr0, thr1, rate, counts, block_bits)
