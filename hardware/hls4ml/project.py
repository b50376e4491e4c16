"""An exported HLS project on disk and what berth keeps beside hls4ml's files.

Layout of a project directory ``DIR``::

    DIR/                      hls4ml's project (firmware/, build_prj.tcl, ...)
    DIR/firmware/weights/     the clean weights, one ``<var>.txt`` per array
    DIR/firmware/berth-csim.so  the C-simulation library (g++)
    DIR/berth/project.json    resolved target + model config, shapes, seeds, versions, timings
    DIR/berth/model.pt        berth checkpoint of the (unfolded) software model
    DIR/berth/source.onnx     instead, for a project exported from a QONNX file: that graph with
                              its exact weights (the software side is qonnx's execution of it)
    DIR/berth/weightmap.npz   layer → weight file + element order (see weightmap)
    DIR/berth/model.onnx      the cleaned QONNX graph that was converted
    DIR/berth/cost.json       the tool-free cost estimate
    DIR/berth/logs/           convert / compile / build logs

The software model is rebuilt from ``model.pt`` and folded exactly as at export, so its codes
are the ones in the weight files.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from berth.core.errors import BerthError
from berth.core.files import read_json
from berth.hardware.hls4ml.csim_lib import LIB_NAME, CSim
from berth.hardware.hls4ml.target import HlsTarget
from berth.hardware.hls4ml.weightmap import Slot, load_slots, write_slot
from berth.quant.codes import QTensor

META_DIR = "berth"
DEFAULT_INPUTS = 200  # test inputs compared when none are named (fewer when the test set is smaller)


@dataclass
class HlsProject:
    """A project directory plus its metadata (``berth/project.json``)."""

    root: Path
    meta: dict

    @classmethod
    def load(cls, root: str | Path) -> "HlsProject":
        """Open ``root``; a directory that berth did not export is a one-line BerthError."""
        root = Path(root)
        meta_path = root / META_DIR / "project.json"
        if not meta_path.is_file():
            raise BerthError(f"{str(root)!r} is not a berth HLS project (no {META_DIR}/project.json); "
                             "create one with 'berth hls export'")
        return cls(root, read_json(meta_path, "project metadata"))

    @property
    def berth_dir(self) -> Path:
        return self.root / META_DIR

    @property
    def logs(self) -> Path:
        return self.berth_dir / "logs"

    @property
    def weights_dir(self) -> Path:
        return self.root / "firmware" / "weights"

    @property
    def target(self) -> HlsTarget:
        from berth.core.config import from_dict

        return from_dict(HlsTarget, self.meta["target"], "target")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["input_shape"])

    def slots(self) -> dict[str, Slot]:
        """The weight map: layer → weight file and element order."""
        return load_slots(self.berth_dir / "weightmap.npz")

    def software_model(self) -> nn.Module:
        """The software model the hardware computes: checkpoint rebuilt, norms folded, eval mode."""
        from berth.models.files import load_model
        from berth.hardware.hls4ml.fold import fold_batchnorm

        return fold_batchnorm(load_model(self.berth_dir / "model.pt"))

    def csim(self, weights_dir: Path | None = None) -> CSim:
        """A C-simulation instance reading ``weights_dir`` (the project's clean weights by default)."""
        n_in = int(np.prod(self.input_shape))
        return CSim(self.root / LIB_NAME, weights_dir or self.weights_dir, self.meta["top"], n_in, self.meta["n_out"])

    @contextmanager
    def weights_with(self, codes: dict[str, QTensor]) -> Iterator[Path]:
        """A temporary copy of the weight files with the given layers' codes written in."""
        slots = self.slots()
        unknown = set(codes) - set(slots)
        if unknown:
            raise BerthError(f"no hardware weight for layer(s) {sorted(unknown)}; layers: {', '.join(slots)}")
        tmp = Path(tempfile.mkdtemp(prefix="berth-weights-"))
        try:
            weights = tmp / "weights"
            shutil.copytree(self.weights_dir, weights)
            for layer, qt in codes.items():
                write_slot(weights, slots[layer], qt)
            yield weights
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def inputs(self, n: int | None = None) -> tuple[torch.Tensor, np.ndarray]:
        """The first ``n`` test inputs of the project's data set (NCHW float32) and their labels;
        ``None``: ``DEFAULT_INPUTS``, or the whole test set when it is smaller (a user's own data
        set may be small, and the default must not refuse it)."""
        from berth.data.datasets import load_dataset

        data = load_dataset(self.meta["dataset"], seed=self.meta["data_seed"], data_dir=self.meta.get("data_dir"))
        available = len(data.x_test)
        n = min(DEFAULT_INPUTS, available) if n is None else n
        if not 1 <= n <= available:
            raise BerthError(f"n = {n} test inputs requested; the {data.name} test set has {available} "
                             f"(allowed: 1 .. {available})")
        return data.x_test[:n], data.y_test[:n].numpy()
