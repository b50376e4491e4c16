"""Shared fixtures: small deterministic code tensors."""

import numpy as np
import pytest

from quant.codes import QTensor, container_dtype


def make_qtensor(n: int, bits: int, signed: bool, seed: int = 0) -> QTensor:
    """Uniformly random valid codes of ``bits`` bits in their container."""
    rng = np.random.default_rng(seed)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    codes = rng.integers(lo, hi, size=n).astype(container_dtype(bits, signed))
    return QTensor(codes, 0.01, 0.0 if signed else float(2 ** (bits - 1)), bits, signed)


@pytest.fixture
def qtensor_factory():
    return make_qtensor
