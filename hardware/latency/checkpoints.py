"""Rebuild trained models from either checkpoint format found in a results store.

``berth.train.checkpoint`` files (training runs, ``berth search``) and the sweep driver's model files
(``berth.flows.tasks.model_to_bytes``: registry config + state dict) both load with
``torch.load(weights_only=True)``; this module tries the first and falls back to the second, so
``berth profile --runs`` and the records join read every run the store points to.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from berth.core.errors import BerthError


def _genet_from_checkpoint(path: str | Path) -> nn.Module | None:
    """A ``berth search`` winner (model name "genet", not in the zoo registry), or None."""
    from berth.train.checkpoint import load_checkpoint
    from berth.models.genet import GenetArch, quant_model

    state = load_checkpoint(path)
    cfg = state.get("model_config") or {}
    if cfg.get("name") != "genet":
        return None
    model = quant_model(GenetArch.from_dict(cfg["arch"]), cfg["scheme"], cfg["bits"], cfg["w_max"],
                        cfg["act_bits"], cfg["seed"])
    model.load_state_dict(state["model"])
    from berth.quant.brevitas_quant import bind_global_ranges

    bind_global_ranges(model)
    return model.eval()


def input_shape(config: dict) -> tuple[int, int, int]:
    """(channels, height, width) a model built from ``config`` expects."""
    src = config.get("arch", config) if config.get("name") == "genet" else config
    return (int(src["in_channels"]), int(src["input_size"]), int(src["input_size"]))


def load_trained_model(path: str | Path) -> nn.Module:
    """The trained model at ``path`` in eval mode; a one-line BerthError if no format fits."""
    from berth.train.checkpoint import build_model_from_file

    try:
        genet = _genet_from_checkpoint(path)
    except BerthError:  # not a berth checkpoint: build_model_from_file tries the sweep format
        genet = None
    return genet or build_model_from_file(path)


def trained_config(path: str | Path) -> dict | None:
    """The registry config (``model.berth_config``) saved in either format, without building the model."""
    import torch

    if not Path(path).is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # unreadable: no config
        return None
    if not isinstance(blob, dict):
        return None
    cfg = blob.get("model_config") or blob.get("berth_config")
    return dict(cfg) if isinstance(cfg, dict) else None
