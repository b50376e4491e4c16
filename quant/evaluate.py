"""Clean and robust error of a quantized model under bit-error chips.

RErr of one chip: the share of test examples that the clean *or* the perturbed model gets wrong
(an example the clean model already misclassifies counts as an error under every chip). The clean
integer codes are computed once and reused for all chips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

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

    Pass ``clean`` (from ``model_codes``) when the chips were made from it already
    (``model_codes(model, "all")`` for chips over every parameter).
    """
    clean = model_codes(model) if clean is None else clean

    def labels_of(codes: Mapping[str, QTensor], keep: np.ndarray | None) -> np.ndarray:
        with use_codes(model, codes):  # stored parameters other than weights compute as stored
            return predict(model, x if keep is None else x[keep])

    return robust_error_of(labels_of, y, clean, chips)


def robust_error_of(labels_of: Callable[[Mapping[str, QTensor], np.ndarray | None], np.ndarray],
                    y: torch.Tensor | np.ndarray, clean: Mapping[str, QTensor],
                    chips: Iterable[ErrorModel]) -> RobustResult:
    """Clean error and RErr of any model given as ``labels_of(codes, keep)``: its predicted labels
    with ``codes`` in weight memory on the test examples ``keep`` (all when None).

    Only the examples the clean model gets right are run again under a chip (the others are
    errors under every chip anyway)."""
    labels = y.numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    clean_ok = labels_of(clean, None) == labels
    keep = np.flatnonzero(clean_ok)
    rerr = []
    for chip in chips:
        wrong = int((labels_of(chip.perturb(clean), keep) != labels[keep]).sum()) if len(keep) else 0
        rerr.append(1.0 - (len(keep) - wrong) / len(labels))
    return RobustResult(1.0 - float(clean_ok.mean()), np.array(rerr))
