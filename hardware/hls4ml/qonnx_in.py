"""A QONNX graph as the model: its quantized weight initializers are the weight memory, qonnx's own
execution (``qonnx.core.onnx_exec``) is the software reference.

A layer is a ``Quant`` node whose first input is an initializer and whose output is the weight of
a ``Conv``, ``Gemm`` or ``MatMul``; its name is the initializer's without ``.weight`` (the
initializer is renamed ``<layer>.weight`` where it was called otherwise, as berth's QONNX passes
expect). Its codes are the integers the node computes, ``round(w / scale + zero_point)`` clipped to
the node's range, with the node's scale, zero point, bit width and sign (``QTensor``).

Evaluating other codes (a chip's) sets the initializer to their values and clears the node's
``narrow`` flag: the node then keeps every code the memory can hold (a flip can reach the most
negative code, which a narrow node would clip although the hardware weight keeps it) and leaves
clean codes as they are. qonnx executes in float32: bit-exact as long as every partial sum of a
layer fits 24 significant bits (small fixed-point layers do; a mismatch shows in ``verify``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError
from berth.quant.brevitas_codes import AffineCodes, MAX_BITS
from berth.quant.codes import QTensor, container_dtype

WEIGHT_OPS = ("Conv", "Gemm", "MatMul")
CHUNK = 256  # inputs per qonnx execution: it keeps every intermediate tensor of a run
REFUSED_OPS = {"AveragePool": "average pooling fails to convert in hls4ml (use MaxPool)",
               "GlobalAveragePool": "hls4ml's GlobalAveragePool converts silently wrong (use a max-pool head)",
               "BatchNormalization": "batch norm: fold it into the convolution before export "
                                     "(brevitas.nn.utils.merge_bn)"}


def is_qonnx_file(model: str) -> bool:
    """Whether a model setting names a QONNX file rather than a model to build."""
    return str(model).endswith(".onnx")


def qonnx_identity(path: str | Path) -> dict[str, str]:
    """What identifies a QONNX file in a run's config: its absolute path and content's SHA-256."""
    from berth.data.own import file_sha256

    path = Path(path).resolve()
    return {"path": str(path), "sha256": file_sha256(path)}


def load_qonnx(path: str | Path):
    """The QONNX graph in ``path``, checked: an image input, a quantized input,
    every weight through a Quant node. Anything else is a one-line BerthError naming the file."""
    from qonnx.core.modelwrapper import ModelWrapper

    path = Path(path)
    if not path.is_file():
        raise BerthError(f"QONNX file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise BerthError(f"QONNX file {str(path)!r} is empty; expected an ONNX model as Brevitas' export_qonnx writes it")
    try:  # not cleaned: qonnx's cleanup renames the initializers that name the layers
        wrapper = ModelWrapper(str(path))
    except Exception as exc:  # onnx raises many types for a file that is not a model
        raise BerthError(f"QONNX file {str(path)!r} is not a readable ONNX model ({type(exc).__name__}: "
                         f"{str(exc).strip()[:150]})") from None
    try:
        data = data_input(wrapper)
    except BerthError as exc:
        raise BerthError(f"QONNX file {str(path)!r}: {exc}") from None
    shape = wrapper.get_tensor_shape(data)
    if shape is None or len(shape) != 4 or shape[0] != 1:
        raise BerthError(f"QONNX file {str(path)!r}: input {data!r} has shape {shape}; allowed: (1, C, H, W) images "
                         "(export with input_t of batch one)")
    for node in wrapper.graph.node:
        if node.op_type in REFUSED_OPS:
            raise BerthError(f"QONNX file {str(path)!r}: node {node.name!r}: {REFUSED_OPS[node.op_type]}")
        if node.op_type in WEIGHT_OPS and len(node.input) > 1 and wrapper.get_initializer(node.input[1]) is not None:
            raise BerthError(f"QONNX file {str(path)!r}: {node.op_type} node {node.name!r} has float weights "
                             f"({node.input[1]!r} feeds it directly); allowed: weights quantized by a Quant node, "
                             "as Brevitas' export_qonnx writes a QuantConv2d/QuantLinear")
    if input_quant_node(wrapper) is None:
        raise BerthError(f"QONNX file {str(path)!r}: input {data!r} is not quantized; hardware inputs must be on a "
                         "known grid (make a QuantIdentity with a fixed-point act_quant the model's first layer)")
    if not weight_nodes(wrapper):
        raise BerthError(f"QONNX file {str(path)!r} has no quantized weight layers; allowed: Conv/Gemm/MatMul whose "
                         "weight is an initializer through a Quant node")
    return _named_weights(wrapper)


def data_input(wrapper) -> str:
    """The graph input that is not an initializer (older exports list initializers as inputs)."""
    names = [i.name for i in wrapper.graph.input if wrapper.get_initializer(i.name) is None]
    if len(names) != 1:
        raise BerthError(f"the graph has {len(names)} data inputs {names}; allowed: exactly one")
    return names[0]


def input_quant_node(wrapper):
    """The Quant node reading the data input (None when the input goes elsewhere first)."""
    data = data_input(wrapper)
    return next((n for n in wrapper.graph.node if n.op_type == "Quant" and n.input[0] == data), None)


def weight_nodes(wrapper) -> dict[str, object]:
    """``{initializer name: Quant node}`` of every quantized weight, in graph order."""
    out = {}
    for node in wrapper.graph.node:
        if node.op_type == "Quant" and wrapper.get_initializer(node.input[0]) is not None \
                and _feeds_weight(wrapper, node.output[0]):
            out[node.input[0]] = node
    return out


def _feeds_weight(wrapper, tensor: str, through_transpose: bool = True) -> bool:
    """Whether ``tensor`` is the weight input of a Conv/Gemm/MatMul, directly or through one
    Transpose (Brevitas exports a QuantLinear without bias as Quant -> Transpose -> MatMul)."""
    for c in wrapper.find_consumers(tensor) or []:
        if c.op_type in WEIGHT_OPS and list(c.input).index(tensor) == 1:
            return True
        if c.op_type == "Transpose" and through_transpose and _feeds_weight(wrapper, c.output[0], False):
            return True
    return False


def _named_weights(wrapper):
    """Rename weight initializers to ``<layer>.weight`` where they are called otherwise."""
    for name in list(weight_nodes(wrapper)):
        if not name.endswith(".weight"):
            wrapper.rename_tensor(name, f"{name}.weight")
    return wrapper


def _attr(node, name: str, default: int) -> int:
    return next((a.i for a in node.attribute if a.name == name), default)


def _rounding(node) -> str:
    return next((a.s.decode() for a in node.attribute if a.name == "rounding_mode"), "ROUND")


def qonnx_codes(wrapper) -> dict[str, QTensor]:
    """``{layer: QTensor}`` of the graph's quantized weights, as qonnx's Quant computes them."""
    from qonnx.custom_op.general.quant import max_int, min_int

    out = {}
    for name, node in weight_nodes(wrapper).items():
        layer = name[: -len(".weight")]
        w = wrapper.get_initializer(name).astype(np.float32)
        scale = np.asarray(wrapper.get_initializer(node.input[1]), np.float32)
        zero = np.asarray(wrapper.get_initializer(node.input[2]), np.float32)
        bits = float(wrapper.get_initializer(node.input[3]))
        if bits != int(bits) or not 2 <= bits <= MAX_BITS:
            raise BerthError(f"layer {layer!r}: weight bit width {bits:g}; allowed: integers 2..{MAX_BITS}")
        bits, signed, narrow = int(bits), bool(_attr(node, "signed", 1)), bool(_attr(node, "narrow", 0))
        mode = _rounding(node)
        if mode != "ROUND":
            raise BerthError(f"layer {layer!r}: Quant rounding mode {mode!r}; allowed: 'ROUND'")
        ints = np.clip(np.round(w / scale + zero), min_int(signed, narrow, bits), max_int(signed, narrow, bits))
        as_number = (lambda a: float(a) if a.size == 1 else a)
        out[layer] = QTensor(ints.astype(container_dtype(bits, signed)), as_number(scale), as_number(zero), bits,
                             signed, AffineCodes(scale, zero))
    return out


def input_shape(wrapper) -> tuple[int, int, int]:
    """(channels, height, width) of the graph's data input."""
    return tuple(int(d) for d in wrapper.get_tensor_shape(data_input(wrapper))[1:])


def output_width(wrapper) -> int | None:
    """How many values the graph outputs per input (None when its output shape is not recorded)."""
    shape = wrapper.get_tensor_shape(wrapper.graph.output[0].name)
    return int(np.prod(shape[1:])) if shape else None


class QonnxReference:
    """A QONNX graph as the software model (a QONNX project's, or one ``berth eval`` measures):
    qonnx's execution of it; ``source`` is a file whose weights are named ``<layer>.weight`` (as a
    project keeps it) or a graph ``load_qonnx`` returned."""

    def __init__(self, source):
        from qonnx.core.modelwrapper import ModelWrapper

        self.wrapper = source if isinstance(source, ModelWrapper) else ModelWrapper(str(source))
        self.clean = qonnx_codes(self.wrapper)

    def codes(self) -> dict[str, QTensor]:
        return self.clean

    def on_grid(self, x):
        """``x`` (NCHW) through the graph's input Quant node: the values hardware receives (float64)."""
        import torch
        from qonnx.custom_op.general.quant import quant

        node, w = input_quant_node(self.wrapper), self.wrapper
        args = [np.asarray(w.get_initializer(i), np.float32) for i in node.input[1:]]
        values = quant(x.numpy().astype(np.float32), *args, _attr(node, "signed", 1), _attr(node, "narrow", 0),
                       _rounding(node))
        return torch.from_numpy(np.asarray(values, np.float64))

    def outputs(self, xq, codes: dict[str, QTensor] | None = None,
                chunk: int = CHUNK) -> tuple[np.ndarray, float]:
        """qonnx's outputs on on-grid inputs with ``codes`` in the weights (clean when None), float64,
        and the seconds it took. Run at most ``chunk`` inputs at a time, in equal chunks (the last one
        padded with zeros, an on-grid input): qonnx keeps every intermediate tensor of a run in memory."""
        from qonnx.core.onnx_exec import execute_onnx

        from qonnx.util.cleanup import cleanup_model

        graph = self._with_codes(codes) if codes is not None else self.wrapper
        x = xq.numpy().astype(np.float32)
        size = max(1, -(-len(x) // -(-len(x) // chunk))) if len(x) else 1  # equal chunks of at most ``chunk``
        batch = batched(cleanup_model(graph), size)
        name, out_name = data_input(batch), batch.graph.output[0].name
        outs = []
        start = time.perf_counter()
        for i in range(0, len(x), size):
            part = x[i:i + size]
            padded = np.concatenate([part, np.zeros((size - len(part), *part.shape[1:]), np.float32)])
            outs.append(np.asarray(execute_onnx(batch, {name: padded})[out_name]).reshape(size, -1)[:len(part)])
        out = np.concatenate(outs) if outs else np.zeros((0, 0))
        return np.asarray(out, np.float64), time.perf_counter() - start

    def labels_of(self, x):
        """``labels_of(codes, keep)`` as ``berth.quant.evaluate.robust_error_of`` takes it: the
        predicted labels of inputs ``x`` (NCHW; those at indices ``keep``, all when None) with
        ``codes`` in the weights."""
        xq = self.on_grid(x)
        return lambda codes, keep: self.outputs(xq if keep is None else xq[keep], codes)[0].argmax(1)

    def _with_codes(self, codes: dict[str, QTensor]):
        from onnx import helper
        from qonnx.core.modelwrapper import ModelWrapper

        graph = ModelWrapper(self.wrapper.model.__deepcopy__())
        nodes = weight_nodes(graph)
        for layer, qt in codes.items():
            graph.set_initializer(f"{layer}.weight", qt.dequantize().astype(np.float32))
            for attr in nodes[f"{layer}.weight"].attribute:
                if attr.name == "narrow":
                    attr.CopyFrom(helper.make_attribute("narrow", 0))
        return graph


def batched(wrapper, n: int):
    """A copy whose data path (every tensor computed from the data input) has batch size ``n``."""
    from qonnx.core.modelwrapper import ModelWrapper

    out = ModelWrapper(wrapper.model.__deepcopy__())
    reached = {data_input(out)}
    for node in out.graph.node:  # cleaned: topological order, every tensor's shape known
        if any(i in reached for i in node.input):
            reached.update(node.output)
    for info in list(out.graph.input) + list(out.graph.output) + list(out.graph.value_info):
        dims = info.type.tensor_type.shape.dim
        if info.name in reached and len(dims):
            dims[0].dim_value = n
    return out
