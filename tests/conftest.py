"""Shared fixtures: small deterministic code tensors; numba held to one thread; a workspace store
of the test session's own (``BERTH_STORE``), so no test writes into the checkout's ``runs/``.

Under pytest-xdist (``-n N --dist loadgroup``, as ``scripts/bootstrap.sh test`` runs it) each test
module runs on one worker, so its module-scoped fixtures (trained models, exported projects) are
built once; modules that share something outside ``tmp_path`` declare one ``xdist_group`` and run
on one worker together: the RTL builds under ``./sim_build`` and the local Ray instances."""

import os
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group every test without an ``xdist_group`` by its module (before xdist reads the groups)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(scope="session", autouse=True)
def session_store(tmp_path_factory) -> Iterator[None]:
    """Commands that write the workspace store default to one file of this session."""
    old = os.environ.get("BERTH_STORE")
    os.environ["BERTH_STORE"] = str(tmp_path_factory.mktemp("store") / "berth.sqlite")
    yield
    if old is None:
        os.environ.pop("BERTH_STORE", None)
    else:
        os.environ["BERTH_STORE"] = old


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
