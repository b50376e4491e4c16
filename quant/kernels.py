"""Compiled inner loop of the bit-error sampler (numba).

``quant.sampling`` owns the semantics (the ladder of rates, stream keys, what a chip flips); this
module holds only what must run at memory speed: a counter-based random number per draw, exact
exponential variates from it (the ziggurat of Marsaglia & Tsang), and the walk over the sampled
bit positions of every (block, bit plane, level) stream, flipping or marking them in place.

Every draw is a pure function of (stream seed, draw index), so results do not depend on the
number of threads or the order blocks run in. Floating point is strict (no fastmath) so a chip is
the same on every machine with the same libm.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64 increment
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
MARK_SALT = np.uint64(0xD1B54A32D192ED03)  # sub-stream of thinning marks
SLOW_SALT = np.uint64(0x8CB92BA72F3D8DD7)  # sub-stream of the ziggurat's rare slow path
ZIGGURAT_R = 7.697117470131487  # right edge of the 256-layer exponential ziggurat

FLIP, MARK = 0, 1  # walk modes: flip bits of a copy of src / OR the sampled bits into out


def ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, w, f) tables of the 256-layer exponential ziggurat for 53-bit integers (Marsaglia & Tsang 2000).

    Layer i spans x in [0, x_i]; a 53-bit integer r with r < k[i] lands under the curve for sure
    and gives x = r * w[i]; f[i] = exp(-x_i) serves the rare edge test.
    """
    scale = 2.0**53
    x, prev, area = ZIGGURAT_R, ZIGGURAT_R, 3.949659822581572e-3
    k, w, f = np.zeros(256), np.zeros(256), np.zeros(256)
    q = area / math.exp(-x)
    k[0], w[0], w[255] = (x / q) * scale, q / scale, x / scale
    f[0], f[255] = 1.0, math.exp(-x)
    for i in range(254, 0, -1):
        x = -math.log(area / x + math.exp(-x))
        k[i + 1] = (x / prev) * scale
        prev = x
        f[i], w[i] = math.exp(-x), x / scale
    return k.astype(np.int64), w, f


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


@nb.njit(cache=True)
def _exponential_slow(seed, idx, x, k, w, f):
    """The ziggurat's rare path (about 1% of draws), on its own sub-stream ``seed``."""
    a = np.uint64(0)
    while True:
        a += np.uint64(1)
        if idx == 0:  # base strip: the tail beyond R
            return ZIGGURAT_R - math.log1p(-unit(mix(seed + a * GOLDEN)))
        if f[idx] + unit(mix(seed + a * GOLDEN)) * (f[idx - 1] - f[idx]) < math.exp(-x):
            return x
        a += np.uint64(1)
        h = mix(seed + a * GOLDEN)
        idx = np.int64(h & np.uint64(255))
        r = np.int64(h >> np.uint64(11))
        x = float(r) * w[idx]
        if r < k[idx]:
            return x


@nb.njit(inline="always", cache=True)
def exponential(s, j, k, w, f):
    """Exp(1) variate number ``j`` of stream ``s`` (pure in s and j)."""
    h = mix(s + np.uint64(j + 1) * GOLDEN)
    idx = np.int64(h & np.uint64(255))
    r = np.int64(h >> np.uint64(11))
    x = float(r) * w[idx]
    if r < k[idx]:
        return x
    return _exponential_slow(mix(mix(s ^ SLOW_SALT) + np.uint64(j + 1) * GOLDEN), idx, x, k, w, f)


@nb.njit(parallel=True, cache=True)
def lookup(table, index, out):
    """``out[i] = table[index[i]]`` (dequantization of codes through a per-value table)."""
    for i in nb.prange(index.size):
        out[i] = table[index[i]]


@nb.njit(inline="always", cache=True)
def stream_seed(key0, key1, block, plane, level):
    """Seed of the (block, plane, level) stream of a tensor key."""
    ident = (np.uint64(block) << np.uint64(16)) | (np.uint64(plane) << np.uint64(8)) | np.uint64(level)
    return mix(key0 ^ mix(key1 + ident * GOLDEN))


@nb.njit(inline="always", cache=True)
def walk_block(b, src, out, mode, key0, key1, allowed, plane_xor, first, k0, t0, k1, t1, inv_lambda, block, k, w, f):
    """Flip (FLIP) or mark (MARK) the included sampled bits of block ``b``, levels ``first`` and deeper.

    Elements are cut into blocks of ``block``; each (block, plane, level) is an independent
    Bernoulli(rate) process walked by geometric gaps, gap = floor(E / lambda) + 1 with E ~ Exp(1)
    (``inv_lambda[level]`` = 1 / -log(1 - rate)). A point of level L is included at rate p when
    L > k(p), or L == k(p) and its mark < t(p). FLIP: ``out`` = ``src`` with each included bit
    flipped once (XOR ``plane_xor[plane]``, which sign-extends a narrow signed code), using rate
    (k0, t0) for bits holding 0 and (k1, t1) for bits holding 1. MARK: the bit of each included
    point (rate (k0, t0)) is ORed into ``out``.
    """
    n = src.size
    levels = inv_lambda.size
    directional = k0 != k1 or t0 != t1
    e0 = b * block
    e1 = min(n, e0 + block)
    if mode == FLIP:
        out[e0:e1] = src[e0:e1]
    for plane in range(plane_xor.size):
        if not (allowed >> plane) & 1:
            continue
        bit = 1 << plane
        for level in range(first, levels):
            s = stream_seed(key0, key1, b, plane, level)
            marks = mix(s ^ MARK_SALT)
            inv = inv_lambda[level]
            pos = e0 - 1
            j = 0
            while True:
                pos += np.int64(exponential(s, j, k, w, f) * inv) + 1
                if pos >= e1:
                    break
                j += 1
                if directional:  # the rate depends on the bit's value
                    one = (src[pos] >> plane) & 1
                    kk, tt = (k1, t1) if one else (k0, t0)
                    keep = level > kk or (level == kk and unit(mix(marks + np.uint64(j) * GOLDEN)) < tt)
                else:  # one rate: levels below k0 keep all points, level k0 a share t0
                    keep = level > k0 or unit(mix(marks + np.uint64(j) * GOLDEN)) < t0
                if mode == MARK:
                    out[pos] |= bit * keep
                else:  # a bit drawn by two levels flips once
                    fresh = (out[pos] ^ src[pos]) & bit == 0
                    out[pos] ^= plane_xor[plane] * (keep & fresh)


@nb.njit(parallel=True, cache=True)
def walk(src, out, mode, key0, key1, allowed, plane_xor, first, k0, t0, k1, t1, inv_lambda, block, k, w, f):
    """``walk_block`` over every block of ``src``, blocks in parallel."""
    for b in nb.prange((src.size + block - 1) // block):
        walk_block(b, src, out, mode, key0, key1, allowed, plane_xor, first, k0, t0, k1, t1, inv_lambda, block, k, w, f)
