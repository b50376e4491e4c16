"""Training checkpoints: a model file (``berth.models.files``) plus what continues training exactly.

Beside the model file's entries a checkpoint holds:

* ``optimizer``, ``scheduler``: their state dicts (None when not given);
* ``epoch`` (epochs completed), ``seed``, ``config`` (the resolved training config);
* ``rng``: the torch RNG state and the data-order generator's state, so that a resumed run
  draws exactly what the uninterrupted run would have drawn;
* ``metrics``: the per-epoch metrics so far.

Files are written atomically (temp file + rename) and read with ``torch.load(weights_only=True)``:
a corrupt, truncated or foreign file is a one-line BerthError and no pickle code is executed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from berth.core.files import atomic_write_bytes
from berth.models.files import model_state, plain, read_model_file


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, epoch: int = 0, seed: int = 0, config: Any = None, *,
                    generator: torch.Generator | None = None,
                    metrics: list[dict[str, Any]] | None = None) -> Path:
    """Write a checkpoint of ``model`` (and training state) to ``path`` atomically."""
    state = {
        **model_state(model),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": int(epoch),
        "seed": int(seed),
        "config": plain(config),
        "rng": {"torch": torch.get_rng_state(),
                "data": generator.get_state() if generator is not None else None},
        "metrics": plain(list(metrics or [])),
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint; any unreadable or foreign file is a one-line BerthError."""
    return read_model_file(path, "checkpoint")


def restore_training(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                     scheduler: Any = None, generator: torch.Generator | None = None) -> None:
    """Put the model, optimizer, scheduler and RNG states of a loaded checkpoint back in place."""
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    if generator is not None and state["rng"]["data"] is not None:
        generator.set_state(state["rng"]["data"])
