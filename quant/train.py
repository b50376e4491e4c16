"""Quantization-aware training with weight clipping.

Brevitas layers quantize in the forward pass with straight-through gradients; after every
optimizer step the float weights of quantized layers are projected onto [-w_max, w_max] when
the scheme clips (Stutz et al.'s weight clipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from berth.data import Dataset
from quant.brevitas_quant import quantized_layers, scheme_quantizers


@dataclass(frozen=True)
class TrainConfig:
    """Plain QAT settings."""

    epochs: int = 15
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    seed: int = 0


def clip_weights(model: nn.Module) -> None:
    """Project each quantized layer's float weight onto its scheme's [-w_max, w_max]."""
    layers = quantized_layers(model)
    with torch.no_grad():
        for name, q in scheme_quantizers(model).items():
            if q.scheme.w_max is not None:
                layers[name].weight.clamp_(-q.scheme.w_max, q.scheme.w_max)


def train(model: nn.Module, data: Dataset, cfg: TrainConfig, progress: bool = True) -> list[dict[str, float]]:
    """Train ``model`` in place with SGD + cosine schedule; returns per-epoch metrics."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * -(-len(data.y_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    clip_weights(model)
    history = []
    bar = tqdm(range(cfg.epochs), desc="train", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(data.y_train), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            clip_weights(model)
            total += loss.item() * len(idx)
            count += len(idx)
        history.append({"epoch": epoch, "loss": total / count})
        bar.set_postfix(loss=f"{total / count:.3f}")
    model.eval()
    return history
