"""Which plain Brevitas weight layers hls4ml runs bit-exactly, and why not the others.

A plain layer (its own Brevitas quantizer, not a berth scheme) stores ``quant_weight().int()``
(``berth.quant.brevitas_codes``). hls4ml's ``ap_fixed`` weight types hold exactly the values
``code * 2^k`` of two's-complement codes: a per-tensor power-of-two scale, signed codes, zero
point 0 — what Brevitas' fixed-point quantizers (``Int8WeightPerTensorFixedPoint`` and its 4-bit
variants) give. Everything else is refused with the layer, the reason and the fix; nothing is
rounded onto a grid it was not trained on.
"""

from __future__ import annotations

import math

import numpy as np
from brevitas.nn import QuantIdentity
from torch import nn

from berth.core.errors import BerthError
from berth.quant.brevitas_codes import layer_qtensor
from berth.quant.codes import QTensor

FIXED_POINT_FIX = "use a fixed-point weight quantizer such as brevitas.quant.Int8WeightPerTensorFixedPoint"


def is_pow2(value: float) -> bool:
    """True when ``value`` is a positive power of two."""
    return value > 0 and math.frexp(value)[0] == 0.5


def input_quantizer(model: nn.Module) -> nn.Module | None:
    """The quantizer that puts inputs on the hardware's grid: the model's ``input_quant``, else its
    first registered module when that is a ``QuantIdentity``; None when it has neither."""
    found = getattr(model, "input_quant", None)
    if isinstance(found, QuantIdentity):
        return found
    first = next(iter(model.children()), None)
    while isinstance(first, nn.Sequential) and len(first):
        first = first[0]
    return first if isinstance(first, QuantIdentity) else None


def plain_layer_problem(module: nn.Module) -> str | None:
    """Why a plain Brevitas weight layer cannot run exactly in hls4ml (None when it can)."""
    if not module.weight_quant.is_quant_enabled:
        return f"float weights (no weight quantizer); {FIXED_POINT_FIX}"
    try:
        qt = layer_qtensor("", module)
    except BerthError as exc:
        return str(exc).split(": ", 1)[-1]
    problem = codes_problem(qt)
    if problem:
        return problem
    if module.bias is not None and not module.bias_quant.is_quant_enabled:
        return "float bias: hardware adds a fixed-point bias (give the layer bias_quant=Int16Bias)"
    return None


def codes_problem(qt: QTensor) -> str | None:
    """Why weight codes ``qt`` cannot be an ap_fixed weight exactly (None when they can)."""
    if np.ndim(qt.scale) or np.ndim(qt.zero_point):
        return f"one weight scale per output channel; hls4ml's fixed-point weights need one per tensor: {FIXED_POINT_FIX}"
    if not is_pow2(float(qt.scale)):
        return f"weight scale {qt.scale:.6g} is not a power of two (a float scale ap_fixed cannot hold): {FIXED_POINT_FIX}"
    if not qt.signed or qt.zero_point != 0:
        return (f"weights are {'unsigned' if not qt.signed else 'signed'} codes with zero point {qt.zero_point:g}; "
                f"hls4ml's ap_fixed holds two's-complement codes without an offset: {FIXED_POINT_FIX}")
    return None
