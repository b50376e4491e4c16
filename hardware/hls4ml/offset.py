"""Offset-coded weights (unsigned codes plus a zero point, power-of-two step) in an hls4ml project.

What is stored and what is computed: a layer of the ``offset`` scheme stores unsigned m-bit codes
c and one integer zero point z per tensor; its weights are worth (c - z) * step. The project keeps
the stored codes, zero point and step in ``berth/weightmap.npz`` (``weightmap.save_slots``); hls4ml's weight
arrays hold the decoded values, written from those codes by the same writer ``inject`` uses, in a
signed ``ap_fixed`` just wide enough for (c - z) of *every* m-bit code (``decoded_bits``), so any
code a bit error produces decodes exactly too. Bit errors are applied to the stored codes and then
decoded — never to decoded values — so a chip corrupts the same bits in hardware as in software.

In the exported graph, the layer's weight ``Quant`` node (unsigned, zero point z, m bits) is
replaced by one that keeps its decoded values as they are: signed, zero point 0, ``decoded_bits``
bits, the same power-of-two scale. hls4ml infers the weight type from that node, so the type is
exact by construction and the checks for fixed-point nodes apply unchanged.
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from berth.core.errors import BerthError
from berth.quant.codes import QTensor, storable_codes


def is_offset_coded(qt: QTensor) -> bool:
    """True when the stored codes carry a zero point (they are not worth code * step as they are)."""
    return qt.zero_point != 0


def decoded_bits(qt: QTensor) -> int:
    """Width of the smallest signed integer holding code - zero point for every code the bits hold."""
    z = int(qt.zero_point)
    if z != qt.zero_point:
        raise BerthError(f"zero point {qt.zero_point!r} is not an integer: offset codes need a power-of-two-step "
                         "scheme (e.g. \"offset\") to be exact in hardware")
    lo, hi = (c - z for c in storable_codes(qt.bits, qt.signed))
    width = 1
    while not (-(2 ** (width - 1)) <= lo and hi <= 2 ** (width - 1) - 1):
        width += 1
    return width


def decode_quant_nodes(wrapper, codes: dict[str, QTensor]) -> None:
    """Make every offset-coded layer's weight Quant node keep its decoded values: signed, zero
    point 0, ``decoded_bits`` wide (the initializer already holds (code - z) * step)."""
    from berth.hardware.hls4ml.graph import weight_initializer

    for layer, qt in codes.items():
        if not is_offset_coded(qt):
            continue
        name = weight_initializer(wrapper, layer)
        node = next(n for n in wrapper.graph.node if name in n.input)
        node.input[2] = f"{name}.decoded_zero"
        node.input[3] = f"{name}.decoded_bits"
        wrapper.set_initializer(node.input[2], np.array(0.0, dtype=np.float32))
        wrapper.set_initializer(node.input[3], np.array(float(decoded_bits(qt)), dtype=np.float32))
        for attr in node.attribute:
            if attr.name in ("signed", "narrow"):
                attr.CopyFrom(helper.make_attribute(attr.name, 1 if attr.name == "signed" else 0))
