"""Clean and robust error of a quantized model under bit-error chips.

RErr of one chip: the share of test examples that the clean *or* the perturbed model gets wrong
(an example the clean model already misclassifies counts as an error under every chip). The clean
integer codes are computed once and reused for all chips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from berth.quant.codes import QTensor
from berth.quant.faults import ErrorModel
from berth.quant.inject import model_codes, use_codes


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Predicted labels of ``model`` in eval mode."""
    model.eval()
    out = [model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


@dataclass(frozen=True)
class RobustResult:
    """Clean error and per-chip RErr (fractions in [0, 1])."""

    clean_error: float
    rerr: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.rerr.mean())

    @property
    def std(self) -> float:
        return float(self.rerr.std(ddof=1)) if len(self.rerr) > 1 else 0.0

    @property
    def worst(self) -> float:
        return float(self.rerr.max())


def robust_error(model: nn.Module, x: torch.Tensor, y: torch.Tensor | np.ndarray, chips: Iterable[ErrorModel],
                 clean: Mapping[str, QTensor] | None = None) -> RobustResult:
    """Clean error and RErr of ``model`` on (x, y) under each error model in ``chips``.

    Only the examples the clean model gets right are run again under a chip (the others are
    errors under every chip anyway). Pass ``clean`` (from ``model_codes``) when the chips were
    made from it already (``model_codes(model, "all")`` for chips over every parameter).
    """
    labels = y.numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    clean = model_codes(model) if clean is None else clean
    with use_codes(model, clean):  # stored parameters other than weights compute as stored
        clean_ok = predict(model, x) == labels
    keep = np.flatnonzero(clean_ok)
    xs, ys = x[keep], labels[keep]
    rerr = []
    for chip in chips:
        with use_codes(model, chip.perturb(clean)):
            wrong = int((predict(model, xs) != ys).sum()) if len(keep) else 0
        rerr.append(1.0 - (len(keep) - wrong) / len(labels))
    return RobustResult(1.0 - float(clean_ok.mean()), np.array(rerr))
