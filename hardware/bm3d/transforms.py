"""The 2-D block transforms and 1-D group transform of BM3D, as small matrices.

BM3D's normal profile uses a 2-D biorthogonal 1.5 wavelet (full dyadic decomposition, periodic
extension) in the hard-thresholding stage, a 2-D DCT-II in the Wiener stage and a 1-D Haar
transform across the group in both. As in Dabov et al.'s BM3D.m, the bior1.5 analysis rows are
normalised to unit length (so white noise of variance sigma^2 stays sigma^2 on every coefficient)
and the inverse is the matrix inverse. Separable 2-D transforms are returned as 64x64 Kronecker
matrices acting on row-major flattened blocks, so a stack of blocks is transformed by one GEMM.
``basis_autocorrelation`` gives what the exact noise variance of a group of overlapping blocks
needs (see ``core.group_variance``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from berth.core.errors import check_choice

TRANSFORMS_2D = ("bior1.5", "dct")

# PyWavelets' bior1.5 decomposition filters: lowpass (10 taps, multiples of sqrt(2)/128), highpass Haar.
_S = np.sqrt(2.0) / 2.0
_BIOR15_LO = _S * np.array([3, -3, -22, 22, 128, 128, 22, -22, -3, 3], dtype=np.float64) / 128.0
_BIOR15_HI = _S * np.array([0, 0, 0, 0, -1, 1, 0, 0, 0, 0], dtype=np.float64)


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix (rows are basis vectors)."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def _periodic_analysis(n: int, taps: np.ndarray) -> np.ndarray:
    """(n/2, n) matrix of periodic convolution with ``taps`` followed by keeping odd samples."""
    m = np.zeros((n // 2, n))
    for k in range(n // 2):
        for j, t in enumerate(taps):
            m[k, (2 * k + 1 - j) % n] += t
    return m


def bior15_matrix(n: int) -> np.ndarray:
    """Forward bior1.5 wavelet matrix (full decomposition, periodic), rows normalised to unit norm."""
    if n & (n - 1):
        raise ValueError(f"bior1.5 needs a power-of-two size, got {n}")
    forward = np.eye(n)
    size = n
    while size > 1:
        level = np.eye(n)
        level[:size, :size] = np.vstack([_periodic_analysis(size, _BIOR15_LO), _periodic_analysis(size, _BIOR15_HI)])
        forward = level @ forward
        size //= 2
    return forward / np.linalg.norm(forward, axis=1, keepdims=True)


def haar_matrix(n: int) -> np.ndarray:
    """Orthonormal Haar matrix of size ``n`` (a power of two; n = 1 is the identity)."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"Haar transform needs a power-of-two group size, got {n}")
    h = np.ones((1, 1))
    while h.shape[0] < n:
        m = h.shape[0]
        h = np.vstack([np.kron(h, [1.0, 1.0]), np.kron(np.eye(m), [1.0, -1.0])]) / np.sqrt(2.0)
    return h


def basis_autocorrelation(t: np.ndarray) -> np.ndarray:
    """(n, 2n-1) autocorrelation of each row of the n x n matrix ``t`` at lags -(n-1)..n-1.

    Entry ``[a, n-1+d]`` is ``sum_i t[a, i] * t[a, i+d]``: the covariance, under unit white noise,
    of basis coefficient a of two 1-D blocks d samples apart (1 at d = 0 for unit-norm rows).
    """
    n = t.shape[0]
    return np.stack([np.correlate(np.pad(row, n - 1), row, mode="valid") for row in t])


def transform_1d(name: str, n: int) -> np.ndarray:
    """The n x n matrix (rows are basis vectors) whose Kronecker square is the 2-D transform ``name``."""
    check_choice("2-D transform", name, TRANSFORMS_2D)
    return bior15_matrix(n) if name == "bior1.5" else dct_matrix(n)


@lru_cache(maxsize=None)
def transform_2d(name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(forward, inverse) n*n x n*n matrices of the separable 2-D transform ``name``.

    ``spectrum = block.reshape(-1) @ forward.T`` and ``block = spectrum @ inverse.T``.
    """
    t = transform_1d(name, n)
    forward = np.kron(t, t)
    return forward, np.linalg.inv(forward)
