"""Shared fixtures: small deterministic code tensors; numba held to one thread; a workspace store
of the test session's own (``BERTH_STORE``), so no test writes into the checkout's ``runs/``.

Under pytest-xdist (``-n N --dist loadfile``, as ``scripts/bootstrap.sh test`` runs it) each test
module runs on one worker, so its module-scoped fixtures (trained models, exported projects) are
built once; the modules in ``SHARED`` use something beyond ``tmp_path`` and run on one worker
together, one after the other."""

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


SHARED = {"tests/test_ray.py": "ray", "tests/test_ray_cluster.py": "ray"}  # each starts local Ray nodes


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the modules of ``SHARED`` as one unit each (xdist's ``xdist_group``
    marks cannot do it under pytest 9, whose node ids xdist 3.8 no longer rewrites)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return SHARED.get(module, module)

    return SharedFileScheduling(config, log)


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
