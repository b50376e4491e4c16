"""QONNX passes: Brevitas export, exact weight values, probe copies, and the cleanup hls4ml needs.

Each function does one job on a qonnx ``ModelWrapper``. The exported graph keeps each quantized
layer's float weight as an initializer named ``<layer>.weight`` feeding a ``Quant`` node; berth
overwrites those with its exact dequantized codes, so hls4ml's own re-quantization is the
identity and the hardware weights are berth's integers by construction.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import torch
from onnx import helper
from torch import nn

from berth.core.errors import BerthError
from berth.quant.codes import QTensor

PROBE_BITS = 24  # probe indices are exact integers below 2**(PROBE_BITS - 1)


def export_onnx(model: nn.Module, input_shape: tuple[int, ...], path: Path):
    """Brevitas ``export_qonnx`` of ``model`` (eval mode, batch of one) to ``path``; the wrapper."""
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper

    model.eval()
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        export_qonnx(model, input_t=torch.zeros(1, *input_shape), export_path=str(path), dynamo=False)
    return ModelWrapper(str(path))


def weight_initializer(wrapper, layer: str) -> str:
    """Name of the initializer holding ``layer``'s weight (checked to feed a Quant node)."""
    name = f"{layer}.weight"
    consumers = [n for n in wrapper.graph.node if name in n.input]
    if wrapper.get_initializer(name) is None or not consumers or consumers[0].op_type != "Quant":
        raise BerthError(f"layer {layer!r}: its weight is not a quantized initializer of the exported graph")
    return name


def set_exact_weights(wrapper, codes: dict[str, QTensor]) -> None:
    """Overwrite every layer's weight initializer with its dequantized codes (exact on the grid)."""
    for layer, qt in codes.items():
        name = weight_initializer(wrapper, layer)
        wrapper.set_initializer(name, qt.dequantize().astype(np.float32))


def probe_offsets(codes: dict[str, QTensor]) -> dict[str, tuple[int, int]]:
    """``{layer: (offset, size)}``: disjoint index ranges starting at 1 (0 stays unambiguous)."""
    out, offset = {}, 1
    for layer, qt in codes.items():
        out[layer] = (offset, int(qt.codes.size))
        offset += int(qt.codes.size)
    if offset >= 2 ** (PROBE_BITS - 1):
        raise BerthError(f"model has {offset - 1} weights; the weight map probe handles < {2 ** (PROBE_BITS - 1)}")
    return out


def probe_copy(wrapper, codes: dict[str, QTensor], offsets: dict[str, tuple[int, int]]):
    """A copy whose weights are their own flat indices (+offset), quantized with scale 1 at 24 bits.

    Converting this copy exactly like the real graph shows where each element of each layer's
    weight lands in hls4ml's arrays (transposes, channels-last reorders, strategy transposition).
    """
    from qonnx.core.modelwrapper import ModelWrapper

    probe = ModelWrapper(wrapper.model.__deepcopy__())
    for layer, (offset, size) in offsets.items():
        name = weight_initializer(probe, layer)
        shape = codes[layer].shape
        probe.set_initializer(name, (offset + np.arange(size, dtype=np.float64)).reshape(shape).astype(np.float32))
        node = next(n for n in probe.graph.node if name in n.input)
        node.input[1] = f"{name}.probe_scale"
        node.input[3] = f"{name}.probe_bits"
        probe.set_initializer(node.input[1], np.array(1.0, dtype=np.float32))
        probe.set_initializer(node.input[3], np.array(float(PROBE_BITS), dtype=np.float32))
        for attr in node.attribute:
            if attr.name in ("signed", "narrow"):
                attr.CopyFrom(helper.make_attribute(attr.name, 1 if attr.name == "signed" else 0))
    return probe


def cleaned(wrapper):
    """qonnx's cleanup of a copy (channels first): what the cost estimate reads."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    return cleanup_model(ModelWrapper(wrapper.model.__deepcopy__()))


def clean_for_hls(wrapper):
    """qonnx cleanup → channels-last (input too) → Gemm→MatMul → cleanup: what hls4ml converts."""
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    out = cleanup_model(wrapper)
    out = out.transform(ConvertToChannelsLastAndClean(make_input_channels_last=True))
    out = out.transform(GemmToMatMul())
    return cleanup_model(out)
