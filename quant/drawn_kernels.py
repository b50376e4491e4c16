"""Compiled loops of drawn chips (``berth.quant.faultmap``), on the primitives of ``berth.quant.kernels``.

Drawing runs the same streams as ``kernels.scatter_block`` (same seeds, counts, hashes), but keeps
each point that some rate up to p_max keeps, instead of placing it: Poisson counts first (so
every unit gets an exact region), then the points, then one point per bit. Applying copies the
words and XORs the kept points in. Units (tensor blocks) are independent, so both run in parallel.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from berth.quant.kernels import COUNT_SALT, MARK_BITS, block_geometry, copy, draw, plane_seed, poisson, select


@nb.njit(inline="always", cache=True)
def count_unit(u, units, keys, allowed, width, first, rate, counts, block_bits, out):
    """``out[u, level, plane]``: how many points stream (block, plane, level) of unit ``u`` draws."""
    t, n, b = units[u, 0], units[u, 2], units[u, 3]
    _, size, span_bits, _ = block_geometry(b, n, block_bits)
    for plane in range(width):
        if not (allowed[t] >> plane) & 1:
            continue
        seed = plane_seed(keys[t, 0], keys[t, 1], b, plane)
        for level in range(first, rate.size):
            if math.isinf(rate[level]):
                out[u, level, plane] = size
            else:
                out[u, level, plane] = poisson(draw(seed, level) ^ COUNT_SALT, counts, level, span_bits)


@nb.njit(inline="always", cache=True)
def fill_unit(u, units, keys, first, thr, rate, block_bits, drawn, region, starts, rel, marks):
    """Write unit ``u``'s points from ``region[u]`` on, plane by plane and level by level: each
    point's element in the block (``rel``) and mark. Points past the tensor's end or with a mark
    at or over ``thr[level]`` (never kept at any p <= p_max) are not written.
    ``starts[u, plane, level]`` is where a (plane, level) stream's points begin (``starts[u,
    plane, rate.size]`` where the plane's end): the levels a rate keeps whole are one range."""
    t, n, b = units[u, 0], units[u, 2], units[u, 3]
    _, size, _, span_mask = block_geometry(b, n, block_bits)
    cursor = region[u]
    for plane in range(drawn.shape[2]):
        seed = plane_seed(keys[t, 0], keys[t, 1], b, plane)
        for level in range(first, rate.size):
            starts[u, plane, level] = cursor
            s = draw(seed, level)
            dense = math.isinf(rate[level])
            for j in range(drawn[u, level, plane]):
                h = draw(s, j)
                i = np.int64(j) if dense else np.int64(h & span_mask)
                mark = h >> np.uint64(64 - MARK_BITS)
                rel[cursor] = i
                marks[cursor] = mark
                cursor += np.int64((i < size) & (mark < thr[level]))
        starts[u, plane, rate.size] = cursor


@nb.njit(parallel=True, cache=True)
def draw_points(units, order, starts_w, keys, allowed, width, first, thr, rate, counts, block_bits):
    """Every point of the packed tensors' streams from level ``first`` on that some p <= p_max keeps
    (mark thresholds ``thr`` of p_max): ``(rel, marks, starts)``, see ``fill_unit``.
    Two passes over units in parallel: Poisson counts (so each unit gets a region as large as its
    draws), then the points."""
    n_units = units.shape[0]
    drawn = np.zeros((n_units, rate.size, width), dtype=np.int64)
    for w in nb.prange(starts_w.size - 1):
        for j in range(starts_w[w], starts_w[w + 1]):
            count_unit(order[j], units, keys, allowed, width, first, rate, counts, block_bits, drawn)
    region = np.zeros(n_units + 1, dtype=np.int64)
    for u in range(n_units):
        region[u + 1] = region[u] + drawn[u].sum()
    rel = np.empty(region[n_units], dtype=np.uint32)
    marks = np.empty(region[n_units], dtype=np.uint64)
    starts = np.zeros((n_units, width, rate.size + 1), dtype=np.int64)
    for w in nb.prange(starts_w.size - 1):
        scratch = np.full(min(units[:, 2].max(), 1 << block_bits), -1, dtype=np.int64)
        for j in range(starts_w[w], starts_w[w + 1]):
            fill_unit(order[j], units, keys, first, thr, rate, block_bits, drawn, region, starts, rel, marks)
            unique_unit(order[j], first, starts, rel, marks, scratch)
    return rel, marks, starts


@nb.njit(inline="always", cache=True)
def unique_unit(u, first, starts, rel, marks, scratch):
    """Keep one point per bit of unit ``u``: the one the lowest rate keeps (the deepest level,
    then the smallest mark). Every rate that keeps another point on the bit keeps it too, so
    applying the points is a plain XOR. Compacts the unit's points in place (``starts`` follows);
    ``scratch`` holds -1 per element of the block and is left so."""
    last = starts.shape[2] - 1
    dead = np.uint64(0xFFFFFFFFFFFFFFFF)  # marks are under 2^46
    for plane in range(starts.shape[1]):
        for level in range(last - 1, first - 1, -1):  # deepest first: its points win
            a, z = starts[u, plane, level], starts[u, plane, level + 1]
            for q in range(a, z):
                e = rel[q]
                w = scratch[e]
                if w < 0:
                    scratch[e] = q
                elif w < z and marks[q] < marks[w]:  # the same level: the smaller mark wins
                    marks[w] = dead
                    scratch[e] = q
                else:
                    marks[q] = dead
        for q in range(starts[u, plane, first], starts[u, plane, last]):
            scratch[rel[q]] = -1
    dst = starts[u, 0, first]
    for plane in range(starts.shape[1]):
        for level in range(first, last):
            a, z = starts[u, plane, level], starts[u, plane, level + 1]
            starts[u, plane, level] = dst
            for q in range(a, z):
                rel[dst], marks[dst] = rel[q], marks[q]
                dst += np.int64(marks[q] != dead)
        starts[u, plane, last] = dst


@nb.njit(inline="always", cache=True)
def apply_unit(u, src, out, units, plane_xor, block_bits, first, thr0, thr1, directional, starts, rel, marks):
    """Copy unit ``u``'s block of ``src`` to ``out`` and flip the bits of its kept points (one
    point per bit, see ``unique_unit``): a point of ``level`` is kept when its mark is under
    ``thr0[level]`` (the bit holds 0) or ``thr1[level]`` (it holds 1). Unless
    ``directional`` (thr0 != thr1), the levels deeper than ``first`` are kept whole: one range
    per plane, no marks read."""
    t, o, n, b = units[u, 0], units[u, 1], units[u, 2], units[u, 3]
    e0, size, _, _ = block_geometry(b, n, block_bits)
    base = o + e0
    copy(src[base:base + size], out[base:base + size])
    last = starts.shape[2] - 1
    for plane in range(starts.shape[1]):
        xor = plane_xor[t, plane]
        if not directional:
            t0 = thr0[first]
            for q in range(starts[u, plane, first], starts[u, plane, first + 1]):
                out[base + np.int64(rel[q])] ^= xor * (marks[q] < t0)
            for q in range(starts[u, plane, first + 1], starts[u, plane, last]):
                out[base + np.int64(rel[q])] ^= xor
            continue
        for level in range(first, last):
            t0, t1 = thr0[level], thr1[level]
            for q in range(starts[u, plane, level], starts[u, plane, level + 1]):
                pos = base + np.int64(rel[q])
                out[pos] ^= xor * (marks[q] < select(t0, t1, (src[pos] >> plane) & 1))


@nb.njit(parallel=True, cache=True)
def apply_points(src, out, units, order, starts_w, plane_xor, block_bits, first, thr0, thr1, directional, starts, rel,
                 marks):
    """``apply_unit`` for every unit, workers in parallel (units cover disjoint words)."""
    for w in nb.prange(starts_w.size - 1):
        for j in range(starts_w[w], starts_w[w + 1]):
            apply_unit(order[j], src, out, units, plane_xor, block_bits, first, thr0, thr1, directional, starts, rel,
                       marks)


@nb.njit(cache=True)
def apply_points_serial(src, out, units, order, starts_w, plane_xor, block_bits, first, thr0, thr1, directional,
                        starts, rel, marks):
    """``apply_points`` with one worker, without entering the thread pool."""
    for j in range(starts_w[0], starts_w[1]):
        apply_unit(order[j], src, out, units, plane_xor, block_bits, first, thr0, thr1, directional, starts, rel, marks)
