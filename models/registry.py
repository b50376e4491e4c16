"""Model registry: ``@register_model``, ``create_model(name, **kw)``, ``list_models()`` (timm's pattern).

A model is any callable ``build(spec, in_channels, input_size, num_classes, **options)`` that
returns an ``nn.Module`` whose quantized layers come from ``spec`` (a QuantSpec); registering it
by decorator puts it beside the zoo and GENet, and every command can build, load and export it.

Quantization keywords are shared by every model: ``scheme`` (a preset name), ``bits``, ``w_max``,
``layer_schemes`` (per-layer overrides, see QuantSpec), ``act_bits`` and ``hw`` (build for
fixed-point hardware: input quantizer, fixed-point biases, quantized activations); everything else goes to
the architecture (``in_channels``, ``input_size``, ``num_classes`` and its own options). The
resolved keywords are kept on the model as ``model.berth_config`` so model files can rebuild it.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Callable, TypeVar

import torch
from torch import nn

from berth.core.errors import BerthError
from berth.models.layers import QuantSpec
from berth.quant.scheme import get_scheme

MODELS: dict[str, Callable[..., nn.Module]] = {}

DEFAULT_SHAPE = {"in_channels": 1, "input_size": 8, "num_classes": 10}
SHAPE_KEYS = tuple(DEFAULT_SHAPE)

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


def register_model(name: str | None = None) -> Callable[[Builder], Builder]:
    """Class or function decorator: register a model builder under ``name`` (default: its
    lower-cased ``__name__``). Registering a name twice is an error unless it is the same builder."""

    def deco(builder: Builder) -> Builder:
        key = name or builder.__name__.lower()
        known = MODELS.get(key)
        if known is not None and known.__qualname__ != builder.__qualname__:
            raise BerthError(f"model name {key!r} is registered already (by {known.__module__}.{known.__qualname__})")
        MODELS[key] = builder
        return builder

    return deco


def ensure_registered(name: str) -> str:
    """The registry name of ``name``: a registered model, or an import path (``module:factory``,
    ``file.py:Name``) imported and registered now under its canonical form."""
    from berth.models.imports import builder_of, canonical, is_import_path, load_target

    if name in MODELS:
        return name
    if not is_import_path(name):
        raise BerthError(f"unknown model {name!r}; allowed: {', '.join(list_models())}, or an import path "
                         "(pkg.module:factory, path/to/file.py:Name)")
    key = canonical(name)
    if key not in MODELS:
        MODELS[key] = builder_of(load_target(key))
    return key


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered model or an import path (not checked until built)."""
    from berth.models.imports import is_import_path

    return name in MODELS or is_import_path(name)


def list_models() -> list[str]:
    """Names of the registered models."""
    return sorted(MODELS)


def model_options(name: str) -> list[str]:
    """The architecture keywords model ``name`` takes (its builder's parameters after ``spec``)."""
    params = inspect.signature(MODELS[name]).parameters
    return [p for p in params if p != "spec"]


def _tuples(value: Any) -> Any:
    """Lists from config files become tuples (hashable, as the builders declare them)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def create_model(name: str, scheme: str = "normal", bits: int = 8, w_max: float | None = None,
                 layer_schemes: dict[str, Any] | None = None, act_bits: int | None = None,
                 seed: int = 0, hw: bool = False, **kw: Any) -> nn.Module:
    """Build registered model ``name`` with its weights quantized by ``scheme`` at ``bits`` bits.

    The initial weights are drawn from a torch generator seeded with ``seed`` (the global RNG
    state is left as it was), so the same arguments always build the same model.
    """
    origin = kw.pop("origin", None)
    if origin and name not in MODELS:
        from berth.models.imports import import_module

        import_module(origin)  # the module that registers it (recorded in its model file)
    name = ensure_registered(name)
    allowed = model_options(name)
    for key in kw:
        if key not in allowed:
            raise BerthError(f"model {name!r} has no option {key!r}; allowed: {', '.join(allowed)}")
    arch = {**DEFAULT_SHAPE, **{k: _tuples(v) for k, v in kw.items()}}
    check_quantization(scheme, bits, w_max, act_bits)
    if hw and act_bits is None:
        raise BerthError(f"model {name!r} with hw = true needs act_bits (e.g. 8): hardware has no float activations")
    spec = QuantSpec(get_scheme(scheme, bits=bits, w_max=w_max), dict(layer_schemes or {}), act_bits, hw=bool(hw))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = spec.finish(_build(name, spec, arch))
    model.berth_config = {"name": name, "scheme": scheme, "bits": bits, "w_max": w_max,
                          "layer_schemes": dict(layer_schemes or {}), "act_bits": act_bits, "seed": seed, **arch}
    if hw:
        model.berth_config["hw"] = True
    origin = origin_of(name)
    if origin:
        model.berth_config["origin"] = origin
    return model


def origin_of(name: str) -> str | None:
    """The module a model registered from outside berth must be imported from to rebuild it
    (its file for a module loaded from a path); None for berth's own and import-path models."""
    from berth.models.imports import is_import_path

    module = sys.modules.get(MODELS[name].__module__)
    if is_import_path(name) or module is None or module.__name__.startswith("berth."):
        return None
    if module.__name__.startswith("berth_user_"):
        return module.__file__
    return module.__name__


def _build(name: str, spec: QuantSpec, arch: dict[str, Any]) -> nn.Module:
    """Call the builder; its own failure (a bad option value) becomes one line naming the model."""
    try:
        model = MODELS[name](spec, **arch)
    except BerthError:
        raise
    except Exception as exc:  # the builder is arbitrary code (a user's model too): name what failed
        options = ", ".join(f"{k}={v!r}" for k, v in arch.items())
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise BerthError(f"model {name!r} cannot be built with {options}: {type(exc).__name__}: {reason}") from None
    if not isinstance(model, nn.Module):
        raise BerthError(f"model {name!r}: its builder returned {type(model).__name__}, not a torch nn.Module")
    return model


def check_quantization(scheme: str, bits: int, w_max: float | None = None, act_bits: int | None = None) -> None:
    """A weight scheme at ``bits`` and ``w_max`` and activation bits berth can build: else a
    one-line BerthError (what a config checks when it is read, so the message names its flag)."""
    get_scheme(scheme, bits=bits, w_max=w_max)
    if act_bits is not None and not (isinstance(act_bits, int) and 2 <= act_bits <= 16):
        raise BerthError(f"act_bits = {act_bits!r} is not allowed; allowed: integers 2..16 or unset")


def model_for_data(name: str, data: Any, **kw: Any) -> nn.Module:
    """``create_model`` with the input shape and class count of ``data`` (a ``berth.data`` Dataset:
    ``shape`` is (channels, height, width), ``num_classes`` the label count), checked to run on
    two of its test images (``check_runs_on``) before anything trains it."""
    c, h, _ = data.shape
    model = create_model(name, in_channels=c, input_size=h, num_classes=data.num_classes, **kw)
    check_runs_on(model, name, data)
    return model


def check_runs_on(model: nn.Module, name: str, data: Any) -> None:
    """Two of ``data``'s test images through ``model`` (eval mode, no gradient, no state changed):
    a model that fails on them or gives fewer outputs than classes is a one-line BerthError before
    any training."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(data.x_test[:2])
    except Exception as exc:  # a user's model may raise anything on the wrong shape
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BerthError(f"model {name!r} fails on the {data.name} data's (C, H, W) = {tuple(data.shape)} images: "
                         f"{type(exc).__name__}: {first[:200]}") from None
    finally:
        model.train(training)
    out = getattr(out, "value", out)  # a Brevitas QuantTensor
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] < data.num_classes:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise BerthError(f"model {name!r} outputs {shape} for 2 images; allowed: (2, K) with K >= the "
                         f"{data.name} data's {data.num_classes} classes")


def input_shape(config: dict[str, Any]) -> tuple[int, int, int]:
    """(channels, height, width) a model built from ``config`` (its ``berth_config``) expects."""
    shape = {**DEFAULT_SHAPE, **config}
    return (int(shape["in_channels"]), int(shape["input_size"]), int(shape["input_size"]))
