"""Training checkpoints: everything needed to rebuild a model or continue its training exactly.

A checkpoint is a ``torch.save`` file holding only plain data and tensors:

* ``format``/``version``: marks a berth checkpoint (anything else is refused);
* ``model_config``: ``model.berth_config`` (rebuild with ``models.create_model(**it)``),
  ``schemes``: each quantized layer's resolved quantization scheme, ``model``: the state dict;
* ``optimizer``, ``scheduler``: their state dicts (None when not given);
* ``epoch`` (epochs completed), ``seed``, ``config`` (the resolved training config);
* ``rng``: the torch RNG state and the data-order generator's state, so that a resumed run
  draws exactly what the uninterrupted run would have drawn;
* ``metrics``: the per-epoch metrics so far.

Files are written atomically (temp file + rename) and read with ``torch.load(weights_only=True)``:
a corrupt, truncated or foreign file is a one-line BerthError and no pickle code is executed.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from berth import __version__
from berth.core.errors import BerthError
from berth.core.files import atomic_write_bytes

FORMAT = "berth-checkpoint"
VERSION = 1


def plain(value: Any) -> Any:
    """Config values as plain data (schemes become tables, tuples lists) for a weights-only load."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, epoch: int = 0, seed: int = 0, config: Any = None, *,
                    generator: torch.Generator | None = None,
                    metrics: list[dict[str, Any]] | None = None) -> Path:
    """Write a checkpoint of ``model`` (and training state) to ``path`` atomically."""
    from berth.quant.brevitas_quant import scheme_quantizers

    state = {
        "format": FORMAT,
        "version": VERSION,
        "berth_version": __version__,
        "model_config": plain(getattr(model, "berth_config", None)),
        "schemes": {name: plain(q.scheme) for name, q in scheme_quantizers(model).items()},
        "model": model.state_dict(),
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
    path = Path(path)
    if not path.is_file():
        raise BerthError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files; all mean "unreadable"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise BerthError(f"checkpoint {str(path)!r} is corrupt, truncated or not a berth checkpoint "
                         f"({type(exc).__name__}: {reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise BerthError(f"checkpoint {str(path)!r} is not a berth checkpoint (no {FORMAT!r} marker)")
    if state.get("version") != VERSION:
        raise BerthError(f"checkpoint {str(path)!r} has format version {state.get('version')!r}; "
                         f"this berth reads version {VERSION}")
    return state


def build_model_from_checkpoint(path: str | Path) -> nn.Module:
    """Rebuild the model a checkpoint holds (``create_model(**model_config)`` + its weights), in eval mode."""
    from berth.models import create_model

    state = load_checkpoint(path)
    config = state["model_config"]
    if not isinstance(config, dict) or "name" not in config:
        raise BerthError(f"checkpoint {str(path)!r} holds no model_config to rebuild its model from")
    model = create_model(**config)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise BerthError(f"checkpoint {str(path)!r} weights do not fit its model: {first}") from None
    return model.eval()


def build_model_from_file(path: str | Path) -> nn.Module:
    """A trained model from a berth checkpoint or a sweep model file (``berth.flows.tasks.model_to_bytes``).

    Both are read with ``torch.load(weights_only=True)``; anything else is a one-line BerthError.
    """
    path = Path(path)
    if not path.is_file():
        raise BerthError(f"model file {str(path)!r} does not exist")
    data = path.read_bytes()
    try:
        blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # unreadable: let load_checkpoint word the one-line error
        blob = None
    if not (isinstance(blob, dict) and "berth_config" in blob and "state_dict" in blob):
        return build_model_from_checkpoint(path)
    from berth.flows.tasks import model_from_bytes

    try:
        return model_from_bytes(data)
    except (KeyError, TypeError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise BerthError(f"sweep model file {str(path)!r} does not rebuild: {first}") from None


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
