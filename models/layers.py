"""Building blocks of the zoo: scheme-quantized Brevitas layers and re-parameterized norms.

``QuantSpec`` hands out layers by name so that every layer knows its scheme (the model's, or a
per-layer override) and unknown override names are caught. Norms compute with scale ``1 + gamma``
(gamma initialised to 0), so weight clipping to [-w_max, w_max] never clips a norm's scale of 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from brevitas.inject.enum import ScalingImplType
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU
from brevitas.quant import Int8BiasPerTensorFixedPointInternalScaling, Uint8ActPerTensorFixedPoint
from brevitas.quant.fixed_point import Uint8ActPerTensorFixedPointMaxInit
from torch import nn

from berth.core.errors import BerthError
from berth.quant.brevitas_quant import bind_global_ranges, weight_quant
from berth.quant.scheme import QuantScheme, get_scheme


HW_BIAS_BITS = 16
HW_INPUT_BITS = 8


class InputFixedPoint(Uint8ActPerTensorFixedPointMaxInit):
    """Unsigned fixed-point input quantizer with a constant range [0, 2): step 2^-7 at 8 bits.

    Constant (not learned) so that data already on the grid (e.g. digits' k/16 in [0, 1]) passes
    unchanged and the hardware's input type is known before training.
    """

    scaling_impl_type = ScalingImplType.CONST
    max_val = 2.0


@dataclass
class QuantSpec:
    """Schemes for a model's layers: ``scheme`` by default, ``layers[name]`` overrides.

    An override is a preset name, a QuantScheme, or a dict of options (e.g. ``{"bits": 4}``).
    ``act_bits`` quantizes ReLU outputs to unsigned fixed point (None keeps float activations,
    the setting of Stutz et al., where only weights sit in the faulty memory).

    ``hw`` builds the model for fixed-point hardware (hls4ml export): an input quantizer on a
    constant power-of-two grid, every conv/linear with a 16-bit fixed-point bias (convs get one
    even before a norm, so the norm can be folded into it), and ``act_bits`` required.
    """

    scheme: QuantScheme
    layers: dict[str, object] = field(default_factory=dict)
    act_bits: int | None = None
    hw: bool = False
    used: set[str] = field(default_factory=set)

    def scheme_for(self, name: str) -> QuantScheme:
        """The scheme of layer ``name``."""
        self.used.add(name)
        override = self.layers.get(name)
        if override is None:
            return self.scheme
        if isinstance(override, QuantScheme):
            return override
        if isinstance(override, str):
            return get_scheme(override, bits=self.scheme.bits, w_max=self.scheme.w_max)
        if isinstance(override, dict):
            return self.scheme.replace(**override)
        raise BerthError(f"layer {name!r}: scheme override {override!r} must be a preset name or a table of options")

    def conv(self, name: str, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, bias: bool = False,
             groups: int = 1) -> QuantConv2d:
        """A quantized 2-D convolution named ``name`` (always with a fixed-point bias when ``hw``)."""
        return QuantConv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=bias or self.hw,
                           weight_quant=weight_quant(self.scheme_for(name)), **self._bias_quant())

    def linear(self, name: str, fin: int, fout: int, bias: bool = True) -> QuantLinear:
        """A quantized fully connected layer named ``name``."""
        return QuantLinear(fin, fout, bias=bias, weight_quant=weight_quant(self.scheme_for(name)),
                           **self._bias_quant())

    def _bias_quant(self) -> dict[str, object]:
        """Keywords giving a layer a 16-bit power-of-two bias quantizer when ``hw`` (float bias otherwise)."""
        if not self.hw:
            return {}
        return {"bias_quant": Int8BiasPerTensorFixedPointInternalScaling, "bias_bit_width": HW_BIAS_BITS}

    def input_quant(self) -> nn.Module:
        """The input quantizer: fixed point on a constant grid when ``hw``, else the identity."""
        if not self.hw:
            return nn.Identity()
        return QuantIdentity(act_quant=InputFixedPoint, bit_width=HW_INPUT_BITS)

    def relu(self) -> nn.Module:
        """ReLU, fixed-point quantized when ``act_bits`` is set."""
        if self.act_bits is None:
            return nn.ReLU()
        return QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=self.act_bits)

    def finish(self, model: nn.Module) -> nn.Module:
        """Check every override named a layer, bind global ranges, and return ``model``."""
        unknown = sorted(set(self.layers) - self.used)
        if unknown:
            raise BerthError(f"per-layer scheme for unknown layer(s) {unknown}; layers: {', '.join(sorted(self.used))}")
        bind_global_ranges(model)
        return model


class ReparamGroupNorm(nn.GroupNorm):
    """Group norm whose scale is ``1 + weight`` (weight starts at 0)."""

    def reset_parameters(self) -> None:
        if self.affine:
            nn.init.zeros_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups, 1.0 + self.weight, self.bias, self.eps)


class ReparamBatchNorm2d(nn.BatchNorm2d):
    """Batch norm whose scale is ``1 + weight`` (weight starts at 0)."""

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        use_batch = self.training or not self.track_running_stats
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(x, self.running_mean, self.running_var, 1.0 + self.weight, self.bias,
                            use_batch, self.momentum if self.momentum is not None else 0.0, self.eps)
