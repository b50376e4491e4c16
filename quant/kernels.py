"""Compiled inner loop of the bit-error sampler (numba).

``berth.quant.sampling`` owns the semantics (the ladder of rates, stream keys, what a chip flips); this
module holds only what must run at memory speed: a counter-based random number per draw, an exact
Poisson count per stream, and the scatter of each stream's points onto bit positions, flipping
or marking them in place. Drawn chips' loops (``berth.quant.faultmap``) are in ``berth.quant.drawn_kernels``.

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


def threads() -> int:
    """Numba's thread count (``start_pool`` first, so torch keeps its own)."""
    start_pool()
    return nb.get_num_threads()


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
def select(t0, t1, bit):
    """``t1 if bit else t0`` in arithmetic: on random bits a branch would mispredict half the time."""
    return t0 + (t1 - t0) * np.uint64(bit)


@nb.njit(inline="always", cache=True)
def position(h, span_mask, size, e0):
    """(element, 1 or 0) of a point with hash ``h`` in a block of ``size`` elements from ``e0``.

    A point past the block's end is dropped without a branch (it would mispredict on random
    positions): it gets element ``e0`` and 0, which zeroes its threshold so nothing is kept.
    """
    i = np.int64(h & span_mask)
    inside = np.uint64(i < size)
    return e0 + i * np.int64(inside), inside


@nb.njit(inline="always", cache=True)
def place(src, out, mode, pos, plane, xor, h, thr):
    """Apply one point (hash ``h``) at element ``pos``, kept when its mark is under ``thr``.

    FLIP flips the bit once however many points fall on it; MARK ORs it in.
    """
    keep = (h >> np.uint64(64 - MARK_BITS)) < thr
    if mode == MARK:
        out[pos] |= xor * keep
    else:
        flip_once(src, out, pos, plane, xor, keep)


@nb.njit(inline="always", cache=True)
def flip_once(src, out, pos, plane, xor, keep):
    """XOR ``xor`` into ``out[pos]`` when ``keep``, unless bit ``plane`` already differs from ``src``."""
    fresh = ((out[pos] ^ src[pos]) >> plane) & 1 == 0
    out[pos] ^= xor * (keep & fresh)


@nb.njit(inline="always", cache=True)
def block_geometry(b, n, block_bits):
    """(first element, size, span bits, span mask) of block ``b`` of a tensor of ``n`` elements."""
    e0 = b << block_bits
    size = min(n - e0, 1 << block_bits)
    span_bits = 0
    while (1 << span_bits) < size:
        span_bits += 1
    return e0, size, span_bits, np.uint64((1 << span_bits) - 1)


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
    e0, size, span_bits, span_mask = block_geometry(b, src.size, block_bits)
    full = size == 1 << span_bits
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
                    t = select(t0, t1, (src[e0 + i] >> plane) & 1)
                    place(src, out, mode, e0 + i, plane, xor, draw(s, i), t)
                continue
            count = poisson(s ^ COUNT_SALT, counts, level, span_bits)
            directional = t0 != t1
            for j0 in range(0, count, CHUNK):  # hashes in vectorizable chunks, then placed
                m = min(CHUNK, count - j0)
                for q in range(m):
                    hashes[q] = draw(s, j0 + q)
                if directional:
                    for q in range(m):
                        pos, inside = position(hashes[q], span_mask, size, e0)
                        t = select(t0, t1, (src[pos] >> plane) & 1) * inside
                        place(src, out, mode, pos, plane, xor, hashes[q], t)
                elif full:  # one threshold (the common case), every position inside
                    for q in range(m):
                        place(src, out, mode, e0 + np.int64(hashes[q] & span_mask), plane, xor, hashes[q], t0)
                else:  # one threshold, a partial block
                    for q in range(m):
                        pos, inside = position(hashes[q], span_mask, size, e0)
                        place(src, out, mode, pos, plane, xor, hashes[q], t0 * inside)


@nb.njit(inline="always", cache=True)
def run_units(w, src, out, mode, units, order, starts, keys, allowed, plane_xor, first, thr0, thr1, rate, counts,
              block_bits):
    """Worker ``w``'s share of the units: ``scatter_block`` for each unit ``order[starts[w]:starts[w + 1]]``.

    A unit is a row (tensor, first element in the buffer, tensor size, block index); tensor t
    has stream key ``keys[t]``, planes ``allowed[t]`` and plane XORs ``plane_xor[t]``.
    """
    for j in range(starts[w], starts[w + 1]):
        u = order[j]
        t, o, n, b = units[u, 0], units[u, 1], units[u, 2], units[u, 3]
        scatter_block(b, src[o:o + n], out[o:o + n], mode, keys[t, 0], keys[t, 1], allowed[t], plane_xor[t], first,
                      thr0, thr1, rate, counts, block_bits)


@nb.njit(parallel=True, cache=True)
def scatter(src, out, mode, units, order, starts, keys, allowed, plane_xor, first, thr0, thr1, rate, counts,
            block_bits):
    """``run_units`` for every worker, workers in parallel (each unit is independent of the others)."""
    for w in nb.prange(starts.size - 1):
        run_units(w, src, out, mode, units, order, starts, keys, allowed, plane_xor, first, thr0, thr1, rate, counts,
                  block_bits)


@nb.njit(cache=True)
def scatter_serial(src, out, mode, units, order, starts, keys, allowed, plane_xor, first, thr0, thr1, rate, counts,
                   block_bits):
    """``scatter`` with one worker, without entering the thread pool (no launch cost)."""
    run_units(0, src, out, mode, units, order, starts, keys, allowed, plane_xor, first, thr0, thr1, rate, counts,
              block_bits)

