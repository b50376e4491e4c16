"""Model files: one format that rebuilds any registered model, in any process, without pickle.

A model file is a ``torch.save`` of plain data and tensors only, read back with
``torch.load(weights_only=True)`` (a crafted file cannot run code):

* ``format``/``version``: the ``berth-checkpoint`` marker (anything else is refused);
* ``model_config``: ``model.berth_config`` — the registry name and every keyword that built the
  model, so ``create_model(**it)`` rebuilds it; ``schemes``: each quantized layer's scheme;
* ``model``: the state dict.

Training checkpoints (``berth.train.checkpoint``) are model files with the training state added,
so a sweep's model, a ``berth train`` run, a ``berth search`` winner and a hardware build all load
through :func:`load_model`. Two older layouts are still read: the sweep's ``{berth_config,
state_dict}`` and GENet winners whose config nests the architecture under ``arch``.
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


def model_state(model: nn.Module) -> dict[str, Any]:
    """The entries of a model file for ``model`` (built by ``create_model``)."""
    from berth.quant.brevitas_quant import scheme_quantizers

    return {"format": FORMAT, "version": VERSION, "berth_version": __version__,
            "model_config": plain(getattr(model, "berth_config", None)),
            "schemes": {name: plain(q.scheme) for name, q in scheme_quantizers(model).items()},
            "model": model.state_dict()}


def model_bytes(model: nn.Module) -> bytes:
    """``model`` as the bytes of a model file."""
    buf = io.BytesIO()
    torch.save(model_state(model), buf)
    return buf.getvalue()


def _upgrade(state: dict[str, Any]) -> dict[str, Any]:
    """Older layouts in today's shape (same model, same weights)."""
    if "berth_config" in state and "state_dict" in state and "format" not in state:
        state = {"format": FORMAT, "version": VERSION, "model_config": state["berth_config"],
                 "model": state["state_dict"]}
    cfg = state.get("model_config")
    if isinstance(cfg, dict) and cfg.get("name") == "genet" and isinstance(cfg.get("arch"), dict):
        state["model_config"] = {**{k: v for k, v in cfg.items() if k != "arch"}, **cfg["arch"]}
    return state


def read_model_file(source: str | Path | bytes, what: str = "model file") -> dict[str, Any]:
    """Read and check a model file (a path or its bytes); anything unreadable or foreign is a
    one-line BerthError naming it."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes):
        if not Path(source).is_file():
            raise BerthError(f"{what} {name!r} does not exist")
    try:
        state = torch.load(io.BytesIO(source) if isinstance(source, bytes) else source, map_location="cpu",
                           weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files; all mean "unreadable"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise BerthError(f"{what} {name!r} is corrupt, truncated or not a berth checkpoint "
                         f"({type(exc).__name__}: {reason})") from None
    if not isinstance(state, dict):
        raise BerthError(f"{what} {name!r} is not a berth checkpoint (no {FORMAT!r} marker)")
    state = _upgrade(state)
    if state.get("format") != FORMAT:
        raise BerthError(f"{what} {name!r} is not a berth checkpoint (no {FORMAT!r} marker)")
    if state.get("version") != VERSION:
        raise BerthError(f"{what} {name!r} has format version {state.get('version')!r}; "
                         f"this berth reads version {VERSION}")
    return state


def model_from_state(state: dict[str, Any], name: str = "model file") -> nn.Module:
    """The model a read model file describes, with its weights, in eval mode."""
    from berth.models import create_model
    from berth.quant.brevitas_quant import bind_global_ranges

    config = state.get("model_config")
    if not isinstance(config, dict) or "name" not in config:
        raise BerthError(f"{name} holds no model_config to rebuild its model from")
    config = dict(config)
    model_name = config.pop("name")
    model = create_model(model_name, **config)
    stored = _stored_schemes(state, model)
    if stored:  # the file was written under another definition of its presets: rebuild with its own
        model = create_model(model_name, **{**config, "layer_schemes": stored})
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        what = " ".join(line.strip() for line in str(exc).strip().splitlines())
        raise BerthError(f"{name} weights do not fit its model: {what[:300]}") from None
    bind_global_ranges(model)  # loading replaces the weight tensors global ranges are bound to
    return model.eval()


def _stored_schemes(state: dict[str, Any], model: nn.Module) -> dict[str, dict]:
    """The per-layer schemes a model file stored, where they differ from what its preset names
    build today (empty when they agree). Tables written before schemes had a ``grid`` used the
    affine grid."""
    from berth.quant.brevitas_quant import scheme_quantizers

    current = {name: plain(q.scheme) for name, q in scheme_quantizers(model).items()}
    stored = {name: ({"grid": "affine", **table} if "grid" not in table else dict(table))
              for name, table in (state.get("schemes") or {}).items() if isinstance(table, dict)}
    if all(current.get(name) == table for name, table in stored.items()):
        return {}
    return stored


def load_model(source: str | Path | bytes) -> nn.Module:
    """The trained model in a model file (path or bytes): any registered model, any berth command."""
    name = "model file <bytes>" if isinstance(source, bytes) else f"model file {str(source)!r}"
    return model_from_state(read_model_file(source), name)


def model_config(path: str | Path) -> dict[str, Any] | None:
    """The ``berth_config`` saved in a model file, without building the model (None if unreadable)."""
    try:
        cfg = read_model_file(path).get("model_config")
    except BerthError:
        return None
    return dict(cfg) if isinstance(cfg, dict) else None
