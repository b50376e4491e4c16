"""Model registry: ``create_model(name, **kw)`` (timm's pattern).

Quantization keywords are shared by every model: ``scheme`` (a preset name), ``bits``, ``w_max``,
``layer_schemes`` (per-layer overrides, see QuantSpec), ``act_bits`` and ``hw`` (build for
fixed-point hardware: input quantizer, fixed-point biases, quantized activations); everything else goes to
the architecture (``in_channels``, ``input_size``, ``num_classes`` and its own options). The
resolved keywords are kept on the model as ``model.berth_config`` so checkpoints can rebuild it.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
from torch import nn

from berth.core.errors import BerthError
from berth.models.layers import QuantSpec
from berth.models.zoo import LeNet, MLP, ResNet20, SimpleNet
from berth.quant.scheme import get_scheme

MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "lenet": LeNet,
    "simplenet": SimpleNet,
    "resnet20": ResNet20,
}

DEFAULT_SHAPE = {"in_channels": 1, "input_size": 8, "num_classes": 10}


def list_models() -> list[str]:
    """Names of the registered models."""
    return sorted(MODELS)


def create_model(name: str, scheme: str = "normal", bits: int = 8, w_max: float | None = None,
                 layer_schemes: dict[str, Any] | None = None, act_bits: int | None = None,
                 seed: int = 0, hw: bool = False, **kw: Any) -> nn.Module:
    """Build zoo model ``name`` with its weights quantized by ``scheme`` at ``bits`` bits.

    The initial weights are drawn from a torch generator seeded with ``seed`` (the global RNG
    state is left as it was), so the same arguments always build the same model.
    """
    if name not in MODELS:
        raise BerthError(f"unknown model {name!r}; allowed: {', '.join(list_models())}")
    cls = MODELS[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "spec")]
    for key in kw:
        if key not in allowed:
            raise BerthError(f"model {name!r} has no option {key!r}; allowed: {', '.join(allowed)}")
    arch = {**DEFAULT_SHAPE, **kw}
    for key, value in arch.items():
        if isinstance(value, list):
            arch[key] = tuple(value)
    if act_bits is not None and not (isinstance(act_bits, int) and 2 <= act_bits <= 16):
        raise BerthError(f"act_bits = {act_bits!r} is not allowed; allowed: integers 2..16 or unset")
    if hw and act_bits is None:
        raise BerthError(f"model {name!r} with hw = true needs act_bits (e.g. 8): hardware has no float activations")
    spec = QuantSpec(get_scheme(scheme, bits=bits, w_max=w_max), dict(layer_schemes or {}), act_bits, hw=bool(hw))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = spec.finish(cls(spec, **arch))
    model.berth_config = {"name": name, "scheme": scheme, "bits": bits, "w_max": w_max,
                          "layer_schemes": dict(layer_schemes or {}), "act_bits": act_bits, "seed": seed, **arch}
    if hw:
        model.berth_config["hw"] = True
    return model
