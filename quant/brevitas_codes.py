"""Plain Brevitas weight layers as weight memory: the codes are Brevitas' own integers.

A ``QuantConv1d``/``QuantConv2d``/``QuantLinear`` whose weight quantizer is any Brevitas quantizer
(not a berth scheme) stores ``quant_weight().int()``: the integers Brevitas itself computes, with
its own scale, zero point, bit width and sign. They are read as they are — signed codes as two's
complement, unsigned ones with their zero point, any scale (power of two or not, per tensor or
per output channel) — and a code is worth ``(code - zero_point) * scale``, the formula Brevitas'
``IntQuant`` evaluates. Nothing is re-quantized, so nothing is approximated.

``override(layer, qt)`` makes such a layer compute with other codes (e.g. after bit errors) by
standing in for its proxy's ``tensor_quant`` until ``restore``: the layer then computes exactly
what it would if its integer weights were ``qt``'s codes, the same scale and zero point applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from brevitas.nn import QuantConv1d, QuantConv2d, QuantLinear
from torch import nn

from berth.core.errors import BerthError
from berth.quant.brevitas_quant import SchemeTensorQuant
from berth.quant.codes import QTensor, container_dtype

WEIGHT_LAYERS = (QuantConv1d, QuantConv2d, QuantLinear)
MAX_BITS = 16  # widest code a weight memory container holds


@dataclass(frozen=True)
class AffineCodes:
    """Decodes Brevitas integers: ``(code - zero_point) * scale`` in float32, as Brevitas computes.

    ``scale`` and ``zero_point`` are float32 arrays of the shapes Brevitas gives them: scalars per
    tensor, ``(out, 1, ...)`` per output channel (they broadcast over the weight).
    """

    scale: np.ndarray
    zero_point: np.ndarray

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Float32 values of ``codes`` (a float32 tensor of integers shaped like the weight)."""
        return (codes - torch.tensor(self.zero_point)) * torch.tensor(self.scale)


def is_plain_weight_layer(module: nn.Module) -> bool:
    """A Brevitas weight layer quantized by its own (non-berth) enabled weight quantizer."""
    if not isinstance(module, WEIGHT_LAYERS):
        return False
    proxy = module.weight_quant
    return proxy.is_quant_enabled and not isinstance(proxy.tensor_quant, SchemeTensorQuant)


def plain_weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """``{layer name: layer}`` of every plain Brevitas weight layer, in registration order."""
    return {name: m for name, m in model.named_modules() if is_plain_weight_layer(m)}


def _plain_value(t: torch.Tensor) -> np.ndarray:
    """A scale or zero point as a float32 array (a scalar stays 0-d)."""
    return t.detach().to("cpu", torch.float32).numpy().copy()


def layer_qtensor(name: str, layer: nn.Module) -> QTensor:
    """The clean stored codes of a plain Brevitas weight layer, from ``quant_weight().int()``
    (an override is set aside while reading).

    ``scale``/``zero_point`` of the QTensor are floats per tensor, arrays per channel.
    """
    proxy, was_training = layer.weight_quant, layer.training
    current = proxy.tensor_quant
    if isinstance(current, CodesOverride):
        proxy.tensor_quant = current.inner
    layer.eval()
    try:
        with torch.no_grad():
            qw = layer.quant_weight()
            ints = qw.int().to("cpu", torch.int64).numpy()
    finally:
        proxy.tensor_quant = current
        layer.train(was_training)
    bits = float(qw.bit_width)
    if bits != int(bits) or not 2 <= bits <= MAX_BITS:
        raise BerthError(f"layer {name!r}: weight bit width {bits:g} is not allowed in weight memory; "
                         f"allowed: integers 2..{MAX_BITS}")
    bits, signed = int(bits), bool(qw.signed)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if ints.size and (ints.min() < lo or ints.max() > hi):
        raise BerthError(f"layer {name!r}: Brevitas' integer weights span {ints.min()}..{ints.max()}, outside the "
                         f"{bits}-bit {'signed' if signed else 'unsigned'} range {lo}..{hi}")
    scale, zero_point = _plain_value(qw.scale), _plain_value(qw.zero_point)
    decoder = AffineCodes(scale, zero_point)
    as_number = (lambda a: float(a) if a.size == 1 else a)
    return QTensor(ints.astype(container_dtype(bits, signed)), as_number(scale), as_number(zero_point), bits, signed,
                   decoder)


def plain_codes(model: nn.Module) -> dict[str, QTensor]:
    """``{layer name: QTensor}`` of every plain Brevitas weight layer of ``model``."""
    return {name: layer_qtensor(name, layer) for name, layer in plain_weight_layers(model).items()}


class CodesOverride(nn.Module):
    """Stands in for a proxy's ``tensor_quant``: returns the value of given codes with the layer's
    own scale, zero point and bit width (straight-through gradient to the float weight)."""

    def __init__(self, inner: nn.Module, qt: QTensor):
        super().__init__()
        self.inner = inner
        self.int_quant = inner.int_quant  # what the proxy reads its input view from
        self.value = torch.from_numpy(qt.dequantize())
        self.scale = torch.from_numpy(np.asarray(qt.scale, np.float32))
        self.zero_point = torch.from_numpy(np.asarray(qt.zero_point, np.float32))
        self.bit_width = torch.tensor(float(qt.bits))

    def forward(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        value = self.value.to(device=w.device, dtype=w.dtype).view_as(w)
        if torch.is_grad_enabled() and w.requires_grad:
            value = w + (value - w).detach()
        return (value, self.scale.to(w.device, w.dtype), self.zero_point.to(w.device, w.dtype),
                self.bit_width.to(w.device))


def override(layer: nn.Module, qt: QTensor) -> None:
    """Make ``layer`` compute with ``qt``'s codes until ``restore(layer)``."""
    proxy = layer.weight_quant
    inner = proxy.tensor_quant.inner if isinstance(proxy.tensor_quant, CodesOverride) else proxy.tensor_quant
    if qt.codes.size != layer.weight.numel():
        raise BerthError(f"codes of shape {qt.shape} do not fit a weight of shape {tuple(layer.weight.shape)}")
    proxy.tensor_quant = CodesOverride(inner, qt)
    proxy._cached_weight = None


def restore(layer: nn.Module) -> None:
    """Undo ``override``: the layer quantizes its float weight again."""
    proxy = layer.weight_quant
    if isinstance(proxy.tensor_quant, CodesOverride):
        proxy.tensor_quant = proxy.tensor_quant.inner
        proxy._cached_weight = None
