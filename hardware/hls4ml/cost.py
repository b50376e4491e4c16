"""Tool-free cost estimate of an exported model: MACs, weight bits, bit-operations, memory words.

MACs, weight bits and bit-operations come from qonnx's ``inference_cost`` on the exported QONNX
graph (sparsity not discounted: a zero weight still occupies memory bits that can flip). Memory
words use berth's documented weight-memory layout (``berth.quant.faults.memory_layout``): each tensor
starts at a fresh word and packs ``word_bits // bits`` codes per word.
"""

from __future__ import annotations

import contextlib
import io

from berth.quant.codes import QTensor
from berth.quant.faults import memory_layout


def memory_words(codes: dict[str, QTensor], word_bits: int) -> int:
    """Words of ``word_bits`` bits the codes occupy in berth's weight-memory layout."""
    layout = memory_layout(codes, word_bits)
    return max((base + -(-codes[name].codes.size // cpw) for name, (base, cpw) in layout.items()), default=0)


def cost_estimate(wrapper, codes: dict[str, QTensor], word_bits: int) -> dict:
    """The cost figures of one model (qonnx inference cost + berth's weight counts)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.inference_cost import inference_cost

    copy = ModelWrapper(wrapper.model.__deepcopy__())
    with contextlib.redirect_stdout(io.StringIO()):
        res = inference_cost(copy, discount_sparsity=False)["total_cost"]
    return {
        "macs": int(res["total_macs"]),
        "bops": int(res["total_bops"]),
        "weight_bits": int(res["total_mem_w_bits"]),
        "weights": int(res["total_mem_w_elems"]),
        "code_bits": int(sum(qt.codes.size * qt.bits for qt in codes.values())),
        "memory_word_bits": int(word_bits),
        "memory_words": memory_words(codes, word_bits),
        "per_layer": {name: {"weights": int(qt.codes.size), "bits": qt.bits} for name, qt in codes.items()},
    }
