"""The three variants of a QONNX graph, measured as ``berth profile`` measures a PyTorch model's.

* ``simulation``: qonnx's own execution (``qonnx.core.onnx_exec``: Quant nodes computed in
  float, node by node) — a simulation, never deployable latency;
* ``float``: the float equivalent in ONNX Runtime: weight Quant nodes folded into their
  dequantized constants, every other Quant node (inputs, activations) removed;
* ``integer-ort``: qonnx's ``QuantToQCDQ`` (QuantizeLinear / DequantizeLinear, what 8-bit-or-less
  Quant nodes become; wider constant ones, such as 16-bit biases, folded) in ONNX Runtime with all
  graph optimizations; the path exists only where ORT runs integer kernels
  (``variants.ort_integer_path``).

Every graph has the batch size of the measurement on its data path (``qonnx_in.batched``). The
structure key of a QONNX file is its content's hash, so a latency measured on the file joins the
runs whose model file it is.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from berth.hardware.latency.variants import IntegerPath, first_line, ort_integer_path, ort_session

QUANT_OPS = ("Quant", "BipolarQuant", "Trunc")
QCDQ_OPS = ["QuantizeLinear", "DequantizeLinear", "Clip"]
HINT = "export the model with quantized activations of 8 bits or fewer"


def qonnx_key(path: str | Path) -> str:
    """The structure key of a QONNX file for latency rows: ``qonnx-`` and 12 hex of its SHA-256."""
    from berth.data.own import file_sha256

    return "qonnx-" + file_sha256(path)[:12]


class QonnxVariants:
    """The graph of one QONNX file at one batch size, as each variant runs it."""

    def __init__(self, path: str | Path, batch: int, threads: int):
        from qonnx.util.cleanup import cleanup_model

        from berth.hardware.hls4ml.qonnx_in import batched, data_input, load_qonnx

        self.graph = batched(cleanup_model(load_qonnx(path)), batch)
        self.input = data_input(self.graph)
        self.threads = threads

    def simulation(self, x: np.ndarray) -> Callable[[], object]:
        """qonnx's execution of the graph on ``x``."""
        from qonnx.core.onnx_exec import execute_onnx

        return lambda: execute_onnx(self.graph, {self.input: x})

    def float(self, x: np.ndarray) -> Callable[[], object]:
        """ONNX Runtime on the float equivalent, on ``x``."""
        from qonnx.transformation.fold_constants import FoldConstants
        from qonnx.util.cleanup import cleanup_model

        plain = _without_quant_nodes(self.graph.transform(FoldConstants(exclude_op_types=[])))
        with tempfile.TemporaryDirectory(prefix="berth-ort-") as tmp:
            path = Path(tmp) / "float.onnx"
            cleanup_model(plain).save(str(path))
            session = ort_session(path, self.threads)
        feed = {session.get_inputs()[0].name: x}
        return lambda: session.run(None, feed)

    def integer(self) -> IntegerPath:
        """ONNX Runtime on the QCDQ graph, or why there is no integer path."""
        from qonnx.transformation.fold_constants import FoldConstants
        from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

        with tempfile.TemporaryDirectory(prefix="berth-ort-") as tmp:
            path = Path(tmp) / "qcdq.onnx"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    qcdq = self.graph.transform(QuantToQCDQ()).transform(FoldConstants(exclude_op_types=QCDQ_OPS))
                qcdq.save(str(path))
            except Exception as exc:  # a graph qonnx cannot convert has no integer path
                return IntegerPath(None, why=f"QuantToQCDQ failed ({first_line(exc)})")
            return ort_integer_path(path, self.threads, HINT)


def _without_quant_nodes(wrapper):
    """``wrapper`` with every remaining Quant node bypassed (its readers read its input)."""
    graph = wrapper.graph
    for node in [n for n in graph.node if n.op_type in QUANT_OPS]:
        source, target = node.input[0], node.output[0]
        for reader in graph.node:
            reader.input[:] = [source if name == target else name for name in reader.input]
        for out in graph.output:
            if out.name == target:
                out.name = source
        graph.node.remove(node)
    return wrapper
