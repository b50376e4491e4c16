"""Bit flips on a model's stored codes: word views, per-bit effects, exact counts, gradients.

Shared by the attacks (``berth.quant.attack``, ``berth.quant.bfa``). A layer's codes are handled as flat
m-bit words (``berth.quant.bits``); a flip set is a per-word XOR mask against the clean words, so the
number of flipped bits is exactly the popcount of ``words ^ clean``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from berth.core.errors import BerthError
from berth.quant.bits import from_words, to_words
from berth.quant.codes import QTensor
from berth.quant.inject import model_codes, use_codes, weight_layers


def attacked_codes(model: nn.Module, layers: list[str] | None = None) -> dict[str, QTensor]:
    """Clean codes of the layers to attack (all quantized layers when ``layers`` is None)."""
    codes = model_codes(model)
    if layers is None:
        return codes
    unknown = sorted(set(layers) - set(codes))
    if unknown:
        raise BerthError(f"no quantized layer named {unknown}; layers: {', '.join(codes)}")
    return {name: codes[name] for name in layers}


def words(qt: QTensor) -> np.ndarray:
    """Flat m-bit words of ``qt`` (a new int64 array)."""
    return to_words(qt.codes, qt.bits).reshape(-1).astype(np.int64)


def with_words(qt: QTensor, w: np.ndarray) -> QTensor:
    """``qt`` holding the words ``w`` (flat) instead of its codes."""
    container = qt.codes.dtype
    unsigned = w.astype(np.uint8 if qt.bits <= 8 else np.uint16)
    return qt.with_codes(from_words(unsigned, qt.bits, container).reshape(qt.shape))


def bit_weights(bits: int, signed: bool) -> np.ndarray:
    """Code value of each bit plane set in a word: 2^b, and -2^(m-1) for a signed MSB."""
    w = np.left_shift(1, np.arange(bits)).astype(np.int64)
    if signed:
        w[-1] = -w[-1]
    return w


def flip_deltas(w: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """(n, bits) change of each word's code when bit b alone is flipped (from its current value)."""
    held = (w[:, None] >> np.arange(bits)[None, :]) & 1
    return (1 - 2 * held) * bit_weights(bits, signed)[None, :]


def popcount(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each element."""
    return np.bitwise_count(x.astype(np.uint64)).astype(np.int64)


def count_flips(clean: Mapping[str, QTensor], perturbed: Mapping[str, QTensor]) -> dict[str, int]:
    """Exact number of flipped bits per layer between two code sets."""
    return {name: int(popcount(words(clean[name]) ^ words(perturbed[name])).sum()) for name in clean}


def loss_and_grads(model: nn.Module, codes: Mapping[str, QTensor], x: torch.Tensor, y: torch.Tensor,
                   target: int | None = None, batch_size: int = 512,
                   ) -> tuple[float, float, dict[str, np.ndarray]]:
    """Attack objective, accuracy on (x, y) and the objective's gradient per weight (flat, value space).

    The objective is the mean cross-entropy w.r.t. ``y`` (untargeted) or minus the mean
    cross-entropy w.r.t. class ``target`` (targeted): the attacker maximizes it. The model
    computes with ``codes``; gradients come straight through to the dequantized weights.
    """
    layers = weight_layers(model)
    weights = [layers[name].weight for name in codes]
    total = [torch.zeros_like(w) for w in weights]
    objective, correct = 0.0, 0
    with use_codes(model, codes):
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            logits = model(xb)
            if target is None:
                loss = F.cross_entropy(logits, yb, reduction="sum")
            else:
                loss = -F.cross_entropy(logits, torch.full_like(yb, target), reduction="sum")
            grads = torch.autograd.grad(loss / len(x), weights)
            for t, g in zip(total, grads):
                t += g
            objective += loss.item()
            correct += int((logits.argmax(1) == yb).sum())
    grads = {name: g.detach().reshape(-1).numpy().astype(np.float64) for name, g in zip(codes, total)}
    return objective / len(x), correct / len(x), grads


@torch.no_grad()
def loss_and_accuracy(model: nn.Module, codes: Mapping[str, QTensor], x: torch.Tensor, y: torch.Tensor,
                      labels: torch.Tensor | None = None, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy w.r.t. ``labels`` (default ``y``) and accuracy w.r.t. ``y`` under ``codes``."""
    labels = y if labels is None else labels
    loss, correct = 0.0, 0
    with use_codes(model, codes):
        for i in range(0, len(x), batch_size):
            logits = model(x[i:i + batch_size])
            loss += F.cross_entropy(logits, labels[i:i + batch_size], reduction="sum").item()
            correct += int((logits.argmax(1) == y[i:i + batch_size]).sum())
    return loss / len(x), correct / len(x)
