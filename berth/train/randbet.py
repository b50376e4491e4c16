"""Bit-error training steps: average the clean gradient with the gradient under perturbed codes.

``bet_backward`` is the shared step of RandBET and AdvBET (Stutz et al.): after the clean
backward pass, the model computes with the perturbed codes (``use_codes``: straight-through, so
the gradient reaches the float weights), the perturbed gradient is clipped element-wise to
±``clip`` and every parameter's gradient becomes the mean of the two. ``RandomPerturbation``
draws RandBET's fresh random chip per batch; its seed is a pure function of (seed, epoch, step),
so a resumed run sees the same chips as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
from typing import Mapping, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from berth.quant.codes import QTensor
from berth.quant.faults import RandomBitErrors
from berth.quant.inject import model_codes, use_codes


def batch_seed(seed: int, epoch: int, step: int, stream: str) -> int:
    """A 63-bit seed derived from (seed, epoch, step, stream): independent of any RNG state."""
    digest = hashlib.blake2b(f"{stream}\0{seed}\0{epoch}\0{step}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class Perturbation(Protocol):
    """Perturbed codes of ``model`` for one training batch."""

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 epoch: int, step: int) -> dict[str, QTensor]: ...


class RandomPerturbation:
    """RandBET's perturbation: the clean codes under a fresh random chip at rate ``p`` per batch."""

    def __init__(self, p: float, seed: int):
        self.p = p
        self.seed = seed

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 epoch: int, step: int) -> dict[str, QTensor]:
        chip = RandomBitErrors(self.p, chip=batch_seed(self.seed, epoch, step, "randbet"))
        return chip.perturb(model_codes(model))


def bet_backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor, codes: Mapping[str, QTensor],
                 clip: float, label_smoothing: float = 0.0) -> float:
    """Replace the clean gradients in ``.grad`` by (clean + clip(perturbed)) / 2; returns the perturbed loss.

    Call after the clean ``backward()``; parameters without a clean gradient take half the
    clipped perturbed one.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    clean = [p.grad for p in params]
    with use_codes(model, codes):
        loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    for p, g_clean, g_pert in zip(params, clean, grads):
        g_pert = torch.zeros_like(p) if g_pert is None else g_pert.clamp(-clip, clip)
        p.grad = g_pert / 2 if g_clean is None else (g_clean + g_pert) / 2
    return loss.item()
