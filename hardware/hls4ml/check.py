"""Refuse, before conversion, any model hls4ml cannot run bit-exactly — naming the layer and why.

Three levels, each cheap: the PyTorch modules (``check_modules``: schemes, biases, activations,
norms, pools), the exported QONNX graph (``check_quant_nodes``: every quantizer has a power-of-two
scale and a zero offset, i.e. is fixed point), and the converted hls4ml graph
(``check_hls_layers``: no float rescaling layer was needed). A model that passes all three is
then checked numerically by ``verify``.
"""

from __future__ import annotations


import numpy as np
from brevitas.core.scaling.standalone import ParameterFromRuntimeStatsScaling
from brevitas.nn import QuantConv1d, QuantConv2d, QuantIdentity, QuantLinear, QuantReLU
from torch import nn

from berth.core.errors import BerthError
from berth.hardware.hls4ml.brevitas_layers import input_quantizer, is_pow2, plain_layer_problem
from berth.models.genet import Add
from berth.quant.brevitas_quant import SchemeTensorQuant

QUANT_LAYERS = (QuantConv1d, QuantConv2d, QuantLinear, QuantIdentity, QuantReLU)
# A leaf Sequential is empty; Add is a residual sum, exact when both inputs are exact.
PASS_THROUGH = (nn.Identity, nn.Flatten, nn.MaxPool2d, nn.Dropout, nn.Sequential, Add)

REASONS: dict[type, str] = {
    nn.GroupNorm: "group norm has no hls4ml layer that computes it exactly (statistics per input)",
    nn.LayerNorm: "layer norm has no hls4ml layer that computes it exactly (statistics per input)",
    nn.BatchNorm2d: "batch norm not directly after a convolution with a bias, so it cannot be folded",
    nn.AdaptiveAvgPool2d: "average pooling: hls4ml's GlobalAveragePool converts silently wrong and "
                          "AveragePool fails (use a max-pool head, e.g. resnet20 head = \"max\")",
    nn.AvgPool2d: "average pooling fails to convert in hls4ml (use max pooling)",
    nn.ReLU: "float activation: hardware computes on fixed point (build the model with hw = true and act_bits)",
    nn.Conv2d: "float weights: use a Brevitas QuantConv2d with a fixed-point weight quantizer "
               "(e.g. Int8WeightPerTensorFixedPoint) or berth's spec.conv",
    nn.Linear: "float weights: use a Brevitas QuantLinear with a fixed-point weight quantizer "
               "(e.g. Int8WeightPerTensorFixedPoint) or berth's spec.linear",
}


FIXED_POINT_QUANTIZERS = ("use Brevitas' fixed-point quantizers without a zero point (e.g. Int8ActPerTensorFixedPoint, "
                          "Uint8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Int16Bias)")


def weight_layer_problem(module: nn.Module) -> str | None:
    """Why a QuantConv2d/QuantLinear cannot be exported exactly (None when it can)."""
    tq = getattr(module.weight_quant, "tensor_quant", None)
    if not isinstance(tq, SchemeTensorQuant):  # the layer's own Brevitas quantizer
        problem = plain_layer_problem(module)
        if problem:
            return problem
    elif not tq.scheme.hls_exact:
        scheme = tq.scheme
        return (f"scheme {scheme.name!r} stores {scheme.storage} codes; hls4ml's ap_fixed holds weights exactly "
                "only on a power-of-two step (use scheme \"fixed\", or \"offset\" for RQuant's offset codes)")
    if getattr(module, "groups", 1) != 1:
        return "grouped convolution is not supported by the hls4ml route"
    if module.bias is not None:
        if not module.bias_quant.is_quant_enabled:
            return "float bias: hardware needs a fixed-point bias (build the model with hw = true)"
        # a bias scaled by input scale x weight scale is checked on the graph (check_quant_nodes)
        if not module.bias_quant.requires_input_scale and not is_pow2(float(module.quant_bias().scale.detach())):
            return "bias scale is not a power of two"
    return None


def module_problem(module: nn.Module) -> str | None:
    """Why a leaf module cannot be exported exactly (None when it can)."""
    if isinstance(module, QuantConv1d):
        return "1-D convolution: berth's hls4ml route takes image inputs (use QuantConv2d)"
    if isinstance(module, (QuantConv2d, QuantLinear)):
        return weight_layer_problem(module)
    if isinstance(module, (QuantIdentity, QuantReLU)):
        if not module.act_quant.is_quant_enabled:
            return "activation quantizer is disabled"
        if any(isinstance(m, ParameterFromRuntimeStatsScaling) and int(m.counter) == 0 for m in module.modules()):
            return "activation quantizer never saw data (its scale is uninitialised): train or calibrate the model first"
        return None
    if isinstance(module, nn.AdaptiveMaxPool2d):
        size = module.output_size
        return None if size in (1, (1, 1)) else f"adaptive max pool to {size} (only global, output 1)"
    if isinstance(module, PASS_THROUGH):
        return None
    for kind, reason in REASONS.items():
        if isinstance(module, kind):
            return reason
    return f"{type(module).__name__} has no exact hls4ml conversion known to berth"


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every module without children, Brevitas layers counted as leaves."""
    out = []
    skip: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(p + ".") for p in skip):
            continue
        if isinstance(module, QUANT_LAYERS):
            skip.append(name)
            out.append((name, module))
        elif not list(module.children()):
            out.append((name, module))
    return out


def check_input_quantizer(model: nn.Module) -> None:
    """Hardware inputs must be on a known grid: a one-line BerthError when the model has no input
    quantizer (checkable before training, unlike the layers' calibrated scales)."""
    if input_quantizer(model) is None:
        raise BerthError("model has no fixed-point input quantizer: hardware inputs must be on a known grid "
                         "(build the model with hw = true, or make a QuantIdentity with a fixed-point act_quant "
                         "its first module or its attribute input_quant)")


def check_modules(model: nn.Module) -> None:
    """Raise a one-line BerthError naming the first layer that cannot be exported exactly."""
    check_input_quantizer(model)
    for name, module in leaf_modules(model):
        problem = module_problem(module)
        if problem:
            raise BerthError(f"cannot export layer {name!r} ({type(module).__name__}) exactly: {problem}")


def check_quant_nodes(wrapper) -> None:
    """Every QONNX Quant node must be fixed point: power-of-two scales, zero offset."""
    for node in wrapper.graph.node:
        if node.op_type not in ("Quant", "BipolarQuant", "Trunc"):
            continue
        if node.op_type != "Quant":
            raise BerthError(f"cannot export node {node.name!r}: {node.op_type} has no exact hls4ml conversion")
        scale = wrapper.get_initializer(node.input[1])
        zero = wrapper.get_initializer(node.input[2])
        if scale is None or not all(is_pow2(float(s)) for s in np.ravel(scale)):
            raise BerthError(f"cannot export node {node.name!r}: quantizer scale {np.ravel(scale)[:3] if scale is not None else 'unknown'} "
                             f"is not a power of two (not fixed point); {FIXED_POINT_QUANTIZERS}")
        if zero is None or np.any(np.asarray(zero) != 0):
            raise BerthError(f"cannot export node {node.name!r}: quantizer has a nonzero zero point (an offset "
                             f"ap_fixed does not hold); {FIXED_POINT_QUANTIZERS}")


def check_hls_layers(hls_model) -> None:
    """No layer of the converted model may rescale by a float factor (ApplyAlpha = non-fixed-point)."""
    for layer in hls_model.get_layers():
        if layer.class_name == "ApplyAlpha":
            raise BerthError(f"hls4ml inserted a float rescaling layer {layer.name!r}: a quantizer is not fixed point")
