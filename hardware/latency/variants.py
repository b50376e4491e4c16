"""What is measured: the simulation, its float equivalent, and an integer deployment path.

* ``simulation``: the Brevitas fake-quant model as trained. Every forward pass re-quantizes the
  weights (and activations) in float — a *simulation* of integer hardware; its latency is never
  deployable latency and is labelled ``deployable = 0``.
* ``float``: the float-equivalent model — a plain ``torch.nn`` copy with Brevitas layers replaced
  by ``nn.Conv2d``/``nn.Linear`` holding the *dequantized* weights (the same values the
  simulation computes with) and activation/input quantizers removed. What a float deployment of
  the trained model runs; it may be cast to float16/bfloat16.
* ``integer-ort``: Brevitas' QCDQ ONNX export run by ONNX Runtime (CPU) with all graph
  optimizations, which fuses DequantizeLinear -> Conv/Gemm -> QuantizeLinear into integer kernels
  (QLinearConv, QGemm, ...). Whether any layer really runs in integers is read from the optimized
  graph: with float activations nothing can be fused and the path is reported as absent, never
  faked.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

VARIANTS = ("simulation", "float", "integer-ort")
DEPLOYABLE = {"simulation": False, "float": True, "integer-ort": True}
INTEGER_OPS = ("QLinearConv", "QGemm", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QLinearAdd",
               "QLinearGlobalAveragePool")
WEIGHT_OPS = ("Conv", "Gemm", "MatMul", "FusedConv", "FusedGemm", "FusedMatMul") + INTEGER_OPS[:5]


def _dequantized(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Dequantized weight and bias of a Brevitas layer (the quantized bias when it has one)."""
    weight = module.quant_weight().value.detach().clone()
    bias = None
    if module.bias is not None:
        try:
            qb = module.quant_bias()
            bias = (qb.value if hasattr(qb, "value") else qb).detach().clone()
        except Exception:  # a bias quantizer that needs the input scale: keep the float bias
            bias = module.bias.detach().clone()
    return weight, bias


def _plain_layer(module: nn.Module) -> nn.Module | None:
    """The plain torch replacement of a Brevitas module (None: not a Brevitas module)."""
    from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU

    if isinstance(module, QuantConv2d):
        w, b = _dequantized(module)
        layer = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                          module.padding, module.dilation, module.groups, bias=b is not None)
    elif isinstance(module, QuantLinear):
        w, b = _dequantized(module)
        layer = nn.Linear(module.in_features, module.out_features, bias=b is not None)
    elif isinstance(module, QuantReLU):
        return nn.ReLU()
    elif isinstance(module, QuantIdentity):
        return nn.Identity()
    else:
        return None
    with torch.no_grad():
        layer.weight.copy_(w)
        if b is not None:
            layer.bias.copy_(b)
    return layer


def float_equivalent(model: nn.Module) -> nn.Module:
    """A plain-torch copy of ``model``: dequantized weights, quantizers removed, eval mode."""
    replacements = {}
    for name, module in model.named_modules():
        if name and not any(name.startswith(done + ".") for done in replacements):
            plain = _plain_layer(module)
            if plain is not None:
                replacements[name] = plain
    out = copy.deepcopy(model).eval()
    for name, plain in replacements.items():
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, plain)
    leftover = [n for n, m in out.named_modules() if type(m).__module__.startswith("brevitas")]
    if leftover:
        raise RuntimeError(f"float equivalent still holds Brevitas modules: {leftover[:3]}")
    return out


@dataclass
class IntegerPath:
    """An ONNX Runtime session on the QCDQ export, or why there is none (``session`` None)."""

    session: object | None
    input_name: str = ""
    integer_ops: dict[str, int] = field(default_factory=dict)
    weight_layers: int = 0
    why: str = ""

    @property
    def integer_layers(self) -> int:
        return sum(self.integer_ops.values())

    def runner(self, x: np.ndarray) -> Callable[[], object]:
        feed = {self.input_name: x}
        return lambda: self.session.run(None, feed)

    def note(self) -> str:
        """How much of the model the path runs in integers, for the profile's notes."""
        return (f"integer-ort: {self.integer_layers} of {self.weight_layers} weight layers run integer kernels "
                f"({', '.join(f'{k} x{v}' for k, v in self.integer_ops.items())}); the rest run in float")

    def detail(self, what: str) -> dict:
        """A latency row's detail for this path (``what``: the graph ORT runs)."""
        return {"what": what, "integer_ops": self.integer_ops, "weight_layers": self.weight_layers}


def _ort_options(threads: int, optimized: Path | None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if optimized is not None:
        so.optimized_model_filepath = str(optimized)
    return so


def integer_path(model: nn.Module, x: torch.Tensor, threads: int) -> IntegerPath:
    """Export ``model`` (Brevitas QCDQ) for input ``x`` and open it in ONNX Runtime on the CPU.

    The path exists only if ORT's optimized graph runs at least one conv/linear layer with an
    integer kernel; otherwise ``why`` says what happened.
    """
    from brevitas.export import export_onnx_qcdq

    with tempfile.TemporaryDirectory(prefix="berth-ort-") as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_onnx_qcdq(model.eval(), args=x, export_path=str(path), dynamo=False)
        except Exception as exc:  # any exporter failure means: no integer path for this model
            return IntegerPath(None, why=f"QCDQ export failed ({first_line(exc)})")
        return ort_integer_path(path, threads, "build the model with act_bits and hw=True")


def ort_integer_path(path: Path, threads: int, hint: str) -> IntegerPath:
    """ONNX Runtime on the QCDQ graph in ``path`` (CPU, all graph optimizations): the path exists
    only if ORT's optimized graph runs at least one conv/linear layer with an integer kernel;
    otherwise ``why`` says what happened (``hint``: how to get quantized activations)."""
    import onnx
    import onnxruntime as ort

    optimized = path.with_name(f"{path.stem}-optimized.onnx")
    try:
        ort.InferenceSession(str(path), _ort_options(threads, optimized), providers=["CPUExecutionProvider"])
    except Exception as exc:  # any runtime failure means: no integer path for this model
        return IntegerPath(None, why=f"ONNX Runtime failed ({first_line(exc)})")
    ops = [n.op_type for n in onnx.load(str(optimized)).graph.node]
    session = ort_session(path, threads)
    integer = {op: ops.count(op) for op in INTEGER_OPS if op in ops}
    weight_layers = sum(ops.count(op) for op in WEIGHT_OPS)
    if not integer:
        return IntegerPath(None, weight_layers=weight_layers,
                           why=f"ONNX Runtime runs every layer in float (no quantized activations to fuse "
                               f"into integer kernels; {hint})")
    return IntegerPath(session, session.get_inputs()[0].name, integer, weight_layers)


def ort_session(path: Path, threads: int):
    """An ONNX Runtime session (CPU, all graph optimizations, ``threads`` intra-op threads)."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), _ort_options(threads, None), providers=["CPUExecutionProvider"])


def first_line(exc: Exception) -> str:
    """``Type: first line of the message`` (160 characters at most), for a one-line reason."""
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}"
