"""Training quantized models: QAT, RandBET and AdvBET, with weight clipping, checkpoints and resume.

Brevitas layers quantize in the forward pass with straight-through gradients. Every method runs
SGD (momentum, cosine schedule over all steps) and, after every optimizer step, projects the float
weights of quantized layers onto their scheme's [-w_max, w_max] (Stutz et al.'s weight clipping).
``cfg.method`` adds the bit-error training of ``berth.train.randbet`` (random chips) or
``berth.train.advbet`` (adversarial bit errors); see ``berth.train.config`` for the settings.

With ``run_dir``, every epoch ends by writing ``checkpoint.pt`` (``berth.train.checkpoint``) and then
``metrics.jsonl`` (one JSON object per epoch), both atomically. ``resume=True`` continues from the
checkpoint and reaches the same weights as an uninterrupted run: the checkpoint holds the torch
RNG and data-order generator states, and per-batch chips/attacks are seeded from (seed, epoch, step).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from berth.core.progress import bar as progress_bar

from berth.models.files import plain
from berth.train.checkpoint import load_checkpoint, restore_training, save_checkpoint
from berth.data.datasets import Dataset
from berth.core.errors import BerthError
from berth.core.files import atomic_write_text
from berth.train.advbet import AdversarialPerturbation
from berth.quant.brevitas_quant import scheme_quantizers
from berth.quant.inject import weight_layers
from berth.quant.evaluate import predict
from berth.train.randbet import Perturbation, RandomPerturbation, bet_backward
from berth.train.config import METHODS, TrainConfig

__all__ = ["METHODS", "TrainConfig", "clip_weights", "train", "CHECKPOINT", "METRICS"]

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


def clip_ranges(model: nn.Module) -> list[tuple[nn.Parameter, float]]:
    """(float weight, w_max) of each quantized layer that clips: its scheme's w_max for a
    berth-scheme layer; for a plain Brevitas layer (its own quantizer, which then sees the clipped
    weight) the w_max the model was built with, when one was given. Found once per run: the
    projection itself runs after every step."""
    quantizers = scheme_quantizers(model)
    own_w_max = getattr(model, "berth_config", {}).get("w_max")
    ranges = []
    for name, layer in weight_layers(model).items():
        w_max = quantizers[name].scheme.w_max if name in quantizers else own_w_max
        if w_max is not None:
            ranges.append((layer.weight, w_max))
    return ranges


def clip_weights(model: nn.Module, ranges: list[tuple[nn.Parameter, float]] | None = None) -> None:
    """Project each quantized layer's float weight onto [-w_max, w_max] (``clip_ranges``, found
    now unless given)."""
    with torch.no_grad():
        for weight, w_max in clip_ranges(model) if ranges is None else ranges:
            weight.clamp_(-w_max, w_max)


def make_perturbation(cfg: TrainConfig) -> Perturbation | None:
    """The per-batch perturbation of ``cfg.method`` (None for plain QAT)."""
    if cfg.method == "randbet":
        return RandomPerturbation(cfg.bet_p, cfg.seed)
    if cfg.method == "advbet":
        return AdversarialPerturbation(cfg.bet_epsilon, cfg.adv_iterations, cfg.seed,
                                       per_layer=cfg.adv_per_layer, one_per_word=cfg.adv_one_per_word)
    return None


@dataclasses.dataclass
class _Session:
    """Optimizer, schedule and data order of one training run."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator

    @classmethod
    def start(cls, model: nn.Module, data: Dataset, cfg: TrainConfig) -> "_Session":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * -(-len(data.y_train) // cfg.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
        return cls(opt, sched, torch.Generator().manual_seed(cfg.seed))


def train_epoch(model: nn.Module, data: Dataset, cfg: TrainConfig, session: _Session, epoch: int,
                perturb: Perturbation | None, progress: bool,
                ranges: list[tuple[nn.Parameter, float]]) -> dict[str, float | int | None]:
    """One pass over the shuffled training set, weights clipped to ``ranges`` (the model's
    ``clip_ranges``) after every step; returns the epoch's training metrics."""
    model.train()
    order = torch.randperm(len(data.y_train), generator=session.generator)
    loss_sum, wrong, count, pert_sum, pert_count = 0.0, 0, 0, 0.0, 0
    starts = range(0, len(order), cfg.batch_size)
    bar = progress_bar(starts, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not progress, leave=False)
    for step, i in enumerate(bar):
        idx = order[i:i + cfg.batch_size]
        x, y = data.x_train[idx], data.y_train[idx]
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        session.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if perturb is not None and (cfg.bet_curriculum is None or loss.item() < cfg.bet_curriculum):
            codes = perturb(model, x, y, epoch, step)
            pert_sum += bet_backward(model, x, y, codes, cfg.bet_grad_clip, cfg.label_smoothing) * len(idx)
            pert_count += len(idx)
        session.optimizer.step()
        session.scheduler.step()
        clip_weights(model, ranges)
        loss_sum += loss.item() * len(idx)
        wrong += int((logits.argmax(1) != y).sum())
        count += len(idx)
        bar.set_postfix(loss=f"{loss_sum / count:.3f}", err=f"{100 * wrong / count:.1f}%")
    return {"epoch": epoch + 1, "train_loss": loss_sum / count, "train_error": wrong / count,
            "perturbed_loss": pert_sum / pert_count if pert_count else None,
            "perturbed_share": pert_count / count, "lr": session.scheduler.get_last_lr()[0]}


def test_error(model: nn.Module, data: Dataset) -> float:
    """Clean error of ``model`` on the test split."""
    return float((predict(model, data.x_test) != data.y_test.numpy()).mean())


def _resume(path: Path, model: nn.Module, cfg: TrainConfig, session: _Session) -> tuple[int, list[dict]]:
    """Restore a run from its checkpoint; refuses one made with other settings."""
    state = load_checkpoint(path)
    saved = state["config"] or {}
    mine = dataclasses.asdict(cfg)
    diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
    if diff:
        k = diff[0]
        raise BerthError(f"cannot resume {str(path)!r}: it was trained with {k} = {saved.get(k)!r}, "
                         f"not {mine.get(k)!r}")
    if state["model_config"] != plain(getattr(model, "berth_config", state["model_config"])):
        raise BerthError(f"cannot resume {str(path)!r}: its model is {state['model_config']!r}")
    restore_training(state, model, session.optimizer, session.scheduler, session.generator)
    return int(state["epoch"]), list(state["metrics"])


def write_metrics(run_dir: Path, history: list[dict]) -> None:
    """``metrics.jsonl``: one JSON object per completed epoch (rewritten atomically)."""
    atomic_write_text(run_dir / METRICS, "".join(json.dumps(m, sort_keys=True) + "\n" for m in history))


def train(model: nn.Module, data: Dataset, cfg: TrainConfig, progress: bool = True,
          run_dir: str | Path | None = None, resume: bool = False,
          on_epoch: Callable[[int, int], None] | None = None) -> list[dict]:
    """Train ``model`` in place with ``cfg.method``; returns per-epoch metrics. ``on_epoch(done,
    total)`` is called after each epoch (a sweep worker reports its progress through it).

    With ``run_dir``: checkpoint and metrics after every epoch. A run directory that already holds
    a checkpoint is continued when ``resume`` is true (nothing is trained if it is complete) and
    refused otherwise, so a finished run is never overwritten by accident.
    """
    session = _Session.start(model, data, cfg)
    perturb = make_perturbation(cfg)
    start, history = 0, []
    ranges = clip_ranges(model)  # the weight parameters stay the same objects when a checkpoint loads
    checkpoint = Path(run_dir) / CHECKPOINT if run_dir is not None else None
    if checkpoint is not None and checkpoint.exists():
        if not resume:
            raise BerthError(f"run directory {str(run_dir)!r} already holds a checkpoint; resume it or choose another")
        start, history = _resume(checkpoint, model, cfg, session)
    else:
        torch.manual_seed(cfg.seed)
        clip_weights(model, ranges)
    for epoch in range(start, cfg.epochs):
        began = time.perf_counter()
        metrics = train_epoch(model, data, cfg, session, epoch, perturb, progress, ranges)
        metrics["test_error"] = test_error(model, data)
        metrics["seconds"] = round(time.perf_counter() - began, 3)
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(epoch + 1, cfg.epochs)
        if progress:
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}: loss {metrics['train_loss']:.4f}, "
                       f"train error {100 * metrics['train_error']:.2f}%, test error {100 * metrics['test_error']:.2f}%",
                       file=sys.stderr)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, session.optimizer, session.scheduler, epoch + 1, cfg.seed,
                            dataclasses.asdict(cfg), generator=session.generator, metrics=history)
            write_metrics(checkpoint.parent, history)
    model.eval()
    return history
