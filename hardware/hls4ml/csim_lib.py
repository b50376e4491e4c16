"""Compile and run the project's C simulation without hls4ml's unchecked shell calls.

The library is built by one checked g++ call (log in ``berth/logs/compile.log``) with
``WEIGHTS_DIR="weights"`` relative, so a project can be moved and any directory holding a
``weights/`` folder can serve the weights. hls4ml's firmware loads the weight files once, at the
first call of a library instance; ``CSim`` therefore loads a private copy of the library per weight
set (fresh statics), points it at the weights, and unloads it afterwards — no recompilation.
"""

from __future__ import annotations

import _ctypes
import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np
import numpy.ctypeslib as npc

from berth.core.errors import BerthError
from berth.core.tools import require_tool

LIB_NAME = "firmware/berth-csim.so"
WARNINGS = ["-Wno-unknown-pragmas", "-Wno-maybe-uninitialized", "-Wno-uninitialized", "-Wno-int-in-bool-context"]
_CWD_LOCK = threading.Lock()


def compile_csim(project_dir: Path, top: str, opt: str, log: Path) -> Path:
    """Build ``firmware/berth-csim.so`` from the written project; BerthError with the log on failure."""
    gxx = require_tool("g++")
    cmd = [str(gxx), opt, "-fPIC", "-std=c++17", "-fno-gnu-unique", "-Ifirmware/ap_types", '-DWEIGHTS_DIR="weights"',
           *WARNINGS, "-shared", f"firmware/{top}.cpp", f"{top}_bridge.cpp", "-o", LIB_NAME]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        f.write(" ".join(cmd) + "\n")
        f.flush()
        ret = subprocess.run(cmd, cwd=project_dir, stdout=f, stderr=subprocess.STDOUT)
    if ret.returncode != 0:
        raise BerthError(f"g++ failed to compile the C simulation (exit {ret.returncode}); log: {log}")
    return project_dir / LIB_NAME


class CSim:
    """One instance of the C-simulation library reading its weights from ``weights_dir``.

    Use as a context manager; ``run(x)`` takes rows of flattened NHWC inputs (float64).
    """

    def __init__(self, lib: Path, weights_dir: Path, top: str, n_in: int, n_out: int):
        self.lib, self.weights_dir, self.top = Path(lib), Path(weights_dir), top
        self.n_in, self.n_out = n_in, n_out
        self._tmp: Path | None = None
        self._handle: ctypes.CDLL | None = None

    def __enter__(self) -> "CSim":
        if not self.lib.is_file():
            raise BerthError(f"C-simulation library {self.lib} is missing: export the project again")
        self._tmp = Path(tempfile.mkdtemp(prefix="berth-csim-"))
        shutil.copy2(self.lib, self._tmp / "lib.so")
        os.symlink(self.weights_dir.resolve(), self._tmp / "weights")
        self._handle = ctypes.CDLL(str(self._tmp / "lib.so"))
        fn = getattr(self._handle, f"{self.top}_double")
        fn.restype = None
        fn.argtypes = [npc.ndpointer(ctypes.c_double, flags="C_CONTIGUOUS")] * 2
        self._fn = fn
        self._loaded = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            _ctypes.dlclose(self._handle._handle)
            self._handle = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def run(self, x: np.ndarray) -> np.ndarray:
        """Outputs (float64, one row per input row) of the C simulation."""
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
        if x.shape[1] != self.n_in:
            raise BerthError(f"C simulation takes {self.n_in} values per input, got {x.shape[1]}")
        out = np.zeros((len(x), self.n_out), dtype=np.float64)
        for i in range(len(x)):
            if not self._loaded:
                self._first_call(x[i], out[i])
            else:
                self._fn(x[i], out[i])
        return out

    def _first_call(self, xi: np.ndarray, yi: np.ndarray) -> None:
        """The first call reads the weight files relative to the working directory: hold it there."""
        if not self.weights_dir.is_dir():  # the firmware would exit() the process on a missing file
            raise BerthError(f"weights directory {self.weights_dir} does not exist")
        with _CWD_LOCK:
            here = os.getcwd()
            os.chdir(self._tmp)
            try:
                self._fn(xi, yi)
            finally:
                os.chdir(here)
        self._loaded = True
