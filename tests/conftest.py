"""Shared fixtures: small deterministic code tensors; numba held to one thread."""

from contextlib import contextmanager
from typing import Iterator

import numba
import numpy as np
import pytest

from berth.quant.codes import QTensor, container_dtype


def make_qtensor(n: int, bits: int, signed: bool, seed: int = 0) -> QTensor:
    """Uniformly random valid codes of ``bits`` bits in their container."""
    rng = np.random.default_rng(seed)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    codes = rng.integers(lo, hi, size=n).astype(container_dtype(bits, signed))
    return QTensor(codes, 0.01, 0.0 if signed else float(2 ** (bits - 1)), bits, signed)


@pytest.fixture
def qtensor_factory():
    return make_qtensor


@contextmanager
def one_numba_thread() -> Iterator[None]:
    """Within the context the sampler runs on one numba thread (to compare with all threads)."""
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)
