"""Between models and codes: read a model's stored integers, evaluate it under corrupted ones.

``model_codes(model)`` gives ``{layer name: QTensor}`` — the one set of integers that feeds bit
error injection, hls4ml export and HLS weight files. ``model_codes(model, "all")`` stores every
parameter, as Stutz et al.'s reference does: ``{parameter name: QTensor}`` in parameter order,
layer weights with their own quantizers, biases and normalization parameters each quantized over
its own range by the model's scheme, without its clipping. ``use_codes(model, tensors)`` makes the model compute with
other codes until the context ends; the float weights are never modified (other parameters are
swapped for their decoded values and put back).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping

import torch
from torch import nn

from berth.core.errors import BerthError, check_choice
from berth.quant.brevitas_codes import layer_qtensor, override, plain_weight_layers, restore
from berth.quant.brevitas_quant import SchemeTensorQuant, scheme_quantizers
from berth.quant.codes import QTensor, quantize_tensor, weight_range
from berth.quant.faults import ErrorModel
from berth.quant.memory import WeightMemory
from berth.quant.scheme import QuantScheme

PARAMETERS = ("weights", "all")


def model_codes(model: nn.Module, parameters: str = "weights") -> WeightMemory:
    """Clean codes packed as one weight memory (what bit-error models corrupt in one pass):
    ``"weights"``: every quantized layer's weight, keyed by layer name (registration order) —
    berth-scheme layers and plain Brevitas layers alike (``berth.quant.brevitas_codes``);
    ``"all"``: every parameter, keyed by parameter name (parameter order)."""
    check_choice("parameters", parameters, PARAMETERS)
    quantizers = scheme_quantizers(model)
    if parameters == "weights":
        return WeightMemory.pack(weight_codes(model))
    if not quantizers:
        raise BerthError("parameters = 'all' needs a model with berth-quantized layers (their scheme stores the rest)")
    weights = {f"{name}.weight": q for name, q in quantizers.items()}
    scheme = _parameter_scheme(next(iter(quantizers.values())).scheme)
    return WeightMemory.pack({
        name: weights[name].qtensor(p) if name in weights else quantize_tensor(p, scheme, *weight_range([p], scheme))
        for name, p in stored_parameters(model).items()})


def weight_codes(model: nn.Module, what: str | None = None) -> dict[str, QTensor]:
    """``{layer name: QTensor}`` of every quantized weight layer, in registration order; a model
    without any is a one-line BerthError naming it (``what``, else its class): it has nothing a
    weight memory could hold."""
    quantizers = scheme_quantizers(model)
    codes = {name: quantizers[name].qtensor(module.weight) if name in quantizers else layer_qtensor(name, module)
             for name, module in weight_layers(model).items()}
    if not codes:
        raise BerthError(f"model {what or type(model).__name__} has no quantized weight layers; allowed: Brevitas "
                         "QuantConv1d/QuantConv2d/QuantLinear with a weight quantizer (e.g. "
                         "weight_quant=Int8WeightPerTensorFixedPoint) or berth's spec.conv/spec.linear")
    return codes


def weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """``{layer name: layer}`` of every layer whose weight is stored as codes, berth-scheme and
    plain Brevitas layers alike, in registration order (the keys of ``weight_codes``)."""
    quantizers, plain = scheme_quantizers(model), plain_weight_layers(model)
    return {name: m for name, m in model.named_modules() if name in quantizers or name in plain}


def own_code_bits(model: nn.Module) -> int | None:
    """The widest weight code of a model that quantizes every weight layer with its own Brevitas
    quantizers, whose width berth's ``scheme`` and ``bits`` settings cannot change; None for a
    model with berth-scheme layers."""
    if scheme_quantizers(model):
        return None
    return max(qt.bits for qt in weight_codes(model).values())


OWN_QUANTIZERS = "brevitas"  # the scheme a run records for a model with its own Brevitas quantizers


def recorded_scheme(scheme: str, own: int | None) -> str:
    """The scheme a run records: ``scheme`` for berth's schemes; ``OWN_QUANTIZERS`` for a model
    with its own Brevitas quantizers (``own``: its ``own_code_bits``), whose codes berth's scheme
    did not make (the scheme setting stays in the run's config and label)."""
    return scheme if own is None else OWN_QUANTIZERS


def check_own_quantizers(own: int | None, name: str, bits: int | list[int], schemes: list[str]) -> None:
    """A model with its own Brevitas quantizers (``own``: its ``own_code_bits``, None for berth's
    schemes) is trained at its own code width and under one scheme (berth's cannot change its
    codes, so more would train it the same way twice): else a one-line BerthError naming the
    setting (as given: ``bits`` a width or a list) and what fits."""
    if own is None:
        return
    what = f"model {name!r} stores {own}-bit codes with its own Brevitas quantizers"
    if (bits if isinstance(bits, list) else [bits]) != [own]:
        allowed = [own] if isinstance(bits, list) else own
        raise BerthError(f"bits = {bits!r} is not allowed; allowed: {allowed} ({what}; berth's bits do not change them)")
    if len(set(schemes)) > 1:
        raise BerthError(f"schemes = {schemes!r} is not allowed; allowed: one scheme ({what}; berth's schemes do not "
                         "apply to it)")


def stored_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The parameters a model keeps in weight memory, in parameter order: all but those of its
    quantizers (Brevitas' learned activation scales and the like)."""
    return {name: p for name, p in model.named_parameters()
            if not any(part.endswith("_quant") for part in name.split(".")[:-1])}


def _parameter_scheme(scheme: QuantScheme) -> QuantScheme:
    """The scheme that stores biases and normalization parameters: the model's grid over each
    tensor's own range. A fixed range stays fixed; clipping does not apply, as training clips
    layer weights only (clipping a trained normalization scale to w_max would break the model)."""
    return scheme if scheme.granularity == "fixed" else scheme.replace(granularity="tensor", w_max=None)


@contextmanager
def use_codes(model: nn.Module, tensors: Mapping[str, QTensor]) -> Iterator[nn.Module]:
    """Within the context, ``model`` computes with ``tensors`` (a subset is allowed), keyed by
    layer name or, as ``model_codes(model, "all")`` keys them, by parameter name."""
    targets = _targets(model)
    unknown = set(tensors) - set(targets)
    if unknown:
        raise KeyError(f"no quantized layer or parameter named {sorted(unknown)}")
    saved: dict[str, torch.Tensor] = {}
    try:
        for name, qt in tensors.items():
            target = targets[name]
            if isinstance(target, SchemeTensorQuant):
                target.override(qt)
            elif isinstance(target, nn.Module):
                override(target, qt)
            else:
                saved[name] = target.data
                target.data = torch.from_numpy(qt.dequantize()).to(target.device, target.dtype).view_as(target)
        yield model
    finally:
        for name in tensors:
            target = targets[name]
            if isinstance(target, SchemeTensorQuant):
                target.override(None)
            elif isinstance(target, nn.Module):
                restore(target)
            elif name in saved:
                target.data = saved[name]


def _targets(model: nn.Module) -> dict[str, SchemeTensorQuant | nn.Module | nn.Parameter]:
    """What a code tensor's key names: a layer's quantizer (by layer or weight name), a plain
    Brevitas layer (by layer name) or a parameter."""
    quantizers = scheme_quantizers(model)
    targets: dict[str, SchemeTensorQuant | nn.Module | nn.Parameter] = dict(stored_parameters(model))
    targets.update({f"{name}.weight": q for name, q in quantizers.items()})
    targets.update(quantizers)
    targets.update(plain_weight_layers(model))
    return targets


@contextmanager
def under_errors(model: nn.Module, errors: ErrorModel,
                 clean: Mapping[str, QTensor] | None = None) -> Iterator[nn.Module]:
    """Within the context, ``model`` computes with its codes corrupted by ``errors``.

    Pass ``clean`` (from ``model_codes``) to reuse the clean codes across many chips.
    """
    clean = model_codes(model) if clean is None else clean
    with use_codes(model, errors.perturb(clean)):
        yield model
