"""The software side a project's C simulation is compared with: the rebuilt PyTorch model, or
qonnx's execution of the QONNX graph the project was exported from.

Both answer the same three questions — the clean codes, the on-grid inputs, the outputs under
given codes — so ``verify`` and ``inject`` are one implementation for either source.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from berth.hardware.hls4ml.compare import on_grid, software_outputs
from berth.hardware.hls4ml.project import HlsProject
from berth.quant.codes import QTensor

SOURCE_ONNX = "source.onnx"  # a QONNX project's graph (exact weights), under berth/


class Reference(Protocol):
    def codes(self) -> dict[str, QTensor]: ...
    def on_grid(self, x: torch.Tensor) -> torch.Tensor: ...
    def outputs(self, xq: torch.Tensor, codes: dict[str, QTensor] | None = None) -> tuple[np.ndarray, float]: ...


class TorchReference:
    """The project's PyTorch model (rebuilt from its model file, norms folded), in float64."""

    def __init__(self, model: nn.Module):
        self.model = model

    def codes(self) -> dict[str, QTensor]:
        from berth.quant.inject import model_codes

        return model_codes(self.model)

    def on_grid(self, x: torch.Tensor) -> torch.Tensor:
        return on_grid(self.model, x)

    def outputs(self, xq: torch.Tensor, codes: dict[str, QTensor] | None = None) -> tuple[np.ndarray, float]:
        from berth.quant.inject import use_codes

        if codes is None:
            return software_outputs(self.model, xq)
        with use_codes(self.model, codes):
            return software_outputs(self.model, xq)


def reference_of(project: HlsProject) -> Reference:
    """What the project's C simulation must equal: qonnx's execution for a QONNX project, else the model."""
    if project.meta.get("source") == "qonnx":
        from berth.hardware.hls4ml.qonnx_in import QonnxReference

        return QonnxReference(project.berth_dir / SOURCE_ONNX)
    return TorchReference(project.software_model())
