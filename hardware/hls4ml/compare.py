"""Run the C simulation and the software model on the same on-grid inputs and compare outputs.

The software reference runs in float64: every value of the fixed-point network (inputs, codes
times power-of-two steps, accumulations) is then exact, as it is in the ap_fixed C simulation, so
"equal" means bit-for-bit and no tolerance is used anywhere.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from berth.hardware.hls4ml.project import HlsProject


@dataclass(frozen=True)
class Comparison:
    """C simulation vs software model on ``n`` inputs.

    ``exact_match``: fraction of inputs whose every output is identical; ``max_abs_diff``: largest
    output difference; ``argmax_agreement``: fraction with the same predicted class; ``hw_error``/``sw_error``: fraction of
    inputs each side misclassifies;
    ``csim_s``/``software_s``: wall seconds of each side.
    """

    n: int
    exact_match: float
    max_abs_diff: float
    argmax_agreement: float
    hw_error: float
    sw_error: float
    csim_s: float
    software_s: float

    def as_dict(self) -> dict:
        return asdict(self)


def on_grid(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` passed through the model's input quantizer (float64): the values hardware receives."""
    from berth.hardware.hls4ml.brevitas_layers import input_quantizer

    with torch.no_grad():
        out = input_quantizer(model)(x.double())
        return getattr(out, "value", out).double()


def to_csim_layout(xq: torch.Tensor) -> np.ndarray:
    """NCHW → rows of flattened NHWC (hls4ml's channels-last input order), C-contiguous."""
    return np.ascontiguousarray(xq.permute(0, 2, 3, 1).reshape(len(xq), -1).numpy())


def software_outputs(model: nn.Module, xq: torch.Tensor) -> tuple[np.ndarray, float]:
    """Float64 outputs of ``model`` on on-grid inputs, and the seconds it took."""
    model.double().eval()
    start = time.perf_counter()
    with torch.no_grad():
        out = model(xq).double().numpy()
    return out, time.perf_counter() - start


def csim_outputs(project: HlsProject, xq: torch.Tensor, weights_dir: Path | None = None) -> tuple[np.ndarray, float]:
    """C-simulation outputs on on-grid inputs (weights from ``weights_dir``), and the seconds it took."""
    rows = to_csim_layout(xq)
    with project.csim(weights_dir) as sim:
        start = time.perf_counter()
        out = sim.run(rows)
        return out, time.perf_counter() - start


def compare(hw: np.ndarray, sw: np.ndarray, labels: np.ndarray, csim_s: float, software_s: float) -> Comparison:
    """Exact-match rate, max difference, argmax agreement and errors of two output arrays."""
    same = np.all(hw == sw, axis=1)
    return Comparison(n=len(hw), exact_match=float(same.mean()), max_abs_diff=float(np.max(np.abs(hw - sw))),
                      argmax_agreement=float(np.mean(hw.argmax(1) == sw.argmax(1))),
                      hw_error=float(np.mean(hw.argmax(1) != labels)), sw_error=float(np.mean(sw.argmax(1) != labels)),
                      csim_s=csim_s, software_s=software_s)
