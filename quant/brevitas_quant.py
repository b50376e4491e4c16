"""Brevitas weight quantizers driven by berth's schemes.

``weight_quant(scheme)`` returns a Brevitas injector whose ``tensor_quant`` is ``SchemeTensorQuant``:
Brevitas layers (``QuantConv2d``/``QuantLinear``) then train with straight-through gradients on
exactly the integers ``berth.quant.codes.Quantizer`` produces, and ``layer.quant_weight().int()`` equals the
QTensor codes. A global-range scheme needs the other layers' weights: ``bind_global_ranges``
gives every quantizer its peers. ``SchemeTensorQuant.override`` makes a layer use given
(e.g. corrupted) codes without touching its float weights — how chips are evaluated without
copying the model.
"""

from __future__ import annotations

import torch
from brevitas.core.function_wrapper import Identity
from brevitas.inject import ExtendedInjector
from brevitas.inject.enum import FloatToIntImplType
from brevitas.proxy import WeightQuantProxyFromInjector
from torch import nn

from berth.quant.codes import QTensor, Quantizer, quantize_tensor, weight_range
from berth.quant.scheme import QuantScheme


class _IntQuantView(nn.Module):
    """What Brevitas' proxy reads from ``tensor_quant.int_quant`` (only the input view)."""

    def __init__(self) -> None:
        super().__init__()
        self.input_view_impl = Identity()


class SchemeTensorQuant(nn.Module):
    """Brevitas ``tensor_quant`` computing (value, scale, zero_point, bit_width) with a berth scheme."""

    def __init__(self, berth_scheme: QuantScheme):
        super().__init__()
        self.scheme = berth_scheme
        self.int_quant = _IntQuantView()
        self.peers: list[nn.Parameter] = []
        self._override: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._range_cache: tuple[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] | None = None

    def quant_range(self, w: torch.Tensor) -> tuple[float, float]:
        """(lo, hi) from the clean float weights: this tensor's, all peers' for a global range, or
        none for a fixed range."""
        if self.scheme.granularity != "global":
            return weight_range([w], self.scheme)
        if not self.peers:
            raise RuntimeError("global-range quantizer has no peers: call quant.bind_global_ranges(model)")
        version = tuple(p._version for p in self.peers) + tuple(p.data_ptr() for p in self.peers)
        if self._range_cache is None or self._range_cache[0] != version:
            self._range_cache = (version, weight_range(list(self.peers), self.scheme))
        return self._range_cache[1]

    def qtensor(self, w: torch.Tensor) -> QTensor:
        """The stored codes of ``w`` (clean, ignoring any override)."""
        lo, hi = self.quant_range(w)
        return quantize_tensor(w, self.scheme, lo, hi)

    def override(self, qt: QTensor | None) -> None:
        """Use ``qt``'s codes (dequantized) instead of quantizing the weight; None restores."""
        if qt is None:
            self._override = None
            return
        value = torch.from_numpy(qt.dequantize())
        self._override = (value, torch.tensor(qt.scale), torch.tensor(qt.zero_point))

    def forward(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        bit_width = torch.tensor(float(self.scheme.bits))
        if self._override is not None:
            value, scale, zero_point = self._override
            value = value.to(device=w.device, dtype=w.dtype).view_as(w)
            if torch.is_grad_enabled() and w.requires_grad:  # straight-through gradient to w
                value = w + (value - w).detach()
            return value, scale.to(w.device), zero_point.to(w.device), bit_width
        value, scale, zero_point, _ = Quantizer(self.scheme, *self.quant_range(w)).fake_quant(w)
        return value, scale.to(w.device), zero_point.to(w.device), bit_width


def weight_quant(scheme: QuantScheme) -> type[ExtendedInjector]:
    """A Brevitas weight-quantizer injector for ``scheme``."""
    return type(
        f"BerthWeightQuant_{scheme.name}_{scheme.bits}b",
        (ExtendedInjector,),
        {
            "proxy_class": WeightQuantProxyFromInjector,
            "tensor_quant": SchemeTensorQuant,
            "berth_scheme": scheme,
            "bit_width": scheme.bits,
            "signed": scheme.signed,
            "narrow_range": scheme.symmetric,
            "float_to_int_impl_type": FloatToIntImplType.ROUND if scheme.rounding == "round" else FloatToIntImplType.ROUND_TO_ZERO,
        },
    )


def scheme_quantizers(model: nn.Module) -> dict[str, SchemeTensorQuant]:
    """``{layer name: SchemeTensorQuant}`` for every berth-quantized layer, in registration order."""
    out = {}
    for name, module in model.named_modules():
        proxy = getattr(module, "weight_quant", None)
        tq = getattr(proxy, "tensor_quant", None)
        if isinstance(tq, SchemeTensorQuant):
            out[name] = tq
    return out


def quantized_layers(model: nn.Module) -> dict[str, nn.Module]:
    """``{layer name: layer}`` for every berth-quantized layer, in registration order."""
    names = scheme_quantizers(model)
    return {name: module for name, module in model.named_modules() if name in names}


def bind_global_ranges(model: nn.Module) -> None:
    """Give every global-range quantizer the weights of all global-range layers of ``model``.

    Brevitas re-creates ``tensor_quant`` modules when a state dict is loaded, so the binding is
    also renewed by a load-state-dict post-hook registered on ``model`` (once).
    """
    _bind(model)
    if not getattr(model, "_berth_rebinds_ranges", False):
        model.register_load_state_dict_post_hook(_rebind_after_load)
        model._berth_rebinds_ranges = True


def _rebind_after_load(model: nn.Module, _incompatible_keys: object) -> None:
    """Load-state-dict post-hook (module level so that models stay picklable)."""
    _bind(model)


def _bind(model: nn.Module) -> None:
    layers = quantized_layers(model)
    quantizers = scheme_quantizers(model)
    peers = [layers[n].weight for n, q in quantizers.items() if q.scheme.granularity == "global"]
    for q in quantizers.values():
        if q.scheme.granularity == "global":
            q.peers = peers
            q._range_cache = None
