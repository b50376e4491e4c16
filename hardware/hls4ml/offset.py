"""Offset-coded weights (unsigned codes plus a zero point, power-of-two step) in an hls4ml project.

What is stored and what is computed: a layer of the ``offset`` scheme stores unsigned m-bit codes
c and one integer zero point z per tensor; its weights are worth (c - z) * step. In the project:

* stored — the weight arrays hold the codes c: their type is ``berth::offset_code<m, z, W, I, T>``
  (``firmware/berth_offset.h``), an ``ap_uint<m>`` that is decoded on every read into the exact
  ``ap_fixed<W, I>`` (W = ``decoded_bits``: c - z of *every* m-bit code fits, so a code a bit error
  produces decodes exactly too; its LSB is the step) and then into T, the weight type hls4ml
  chose. The weight files (``<var>.txt`` for C simulation, ``<var>.h`` for synthesis) hold the
  integer codes; ``berth/weightmap.npz`` keeps the clean codes, zero point and step
  (``weightmap.stored_codes``).
* computed — (c - z) * step, by ``offset_code::value`` on each multiplication.

Bit errors (``inject``) are applied to the codes and written as codes, so a chip corrupts the same
memory bits in the C simulation as in the software evaluation.

For the conversion, the layer's weight ``Quant`` node (unsigned, zero point z, m bits) is replaced
by one that keeps the decoded values as they are (signed, zero point 0, W bits, the same
power-of-two scale): hls4ml infers T = ``ap_fixed<W, I>`` from it, so the fixed-point node checks
and the weight map apply unchanged; ``code_types`` then swaps the written weight types for the
code type.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from onnx import helper

from berth.core.errors import BerthError
from berth.core.files import atomic_write_text
from berth.quant.codes import QTensor, storable_codes

HEADER = "berth_offset.h"
HEADER_TEXT = """\
#ifndef BERTH_OFFSET_H_
#define BERTH_OFFSET_H_

// Written by berth: weights stored as unsigned offset codes, decoded on read.
#include "ap_fixed.h"
#include "ap_int.h"
#ifndef __SYNTHESIS__
#include <istream>
#endif

namespace berth {

// A weight as memory holds it: its B-bit unsigned code. Read, it is worth (code - Z) * step, built
// exactly in ap_fixed<W, I> (least significant bit = step) and returned as the layer's weight type T.
template <int B, int Z, int W, int I, class T> struct offset_code {
    ap_uint<B> code;
    offset_code() : code(0) {}
    offset_code(unsigned long c) : code(c) {}
    T value() const {
        #pragma HLS INLINE
        ap_fixed<W, I> decoded;
        decoded.range() = ap_int<W>(ap_int<B + 1>(code) - Z);
        return T(decoded);
    }
};

template <class A, int B, int Z, int W, int I, class T>
auto operator*(const A &a, const offset_code<B, Z, W, I, T> &w) -> decltype(a * w.value()) {
    #pragma HLS INLINE
    return a * w.value();
}

#ifndef __SYNTHESIS__
template <int B, int Z, int W, int I, class T>
std::istream &operator>>(std::istream &in, offset_code<B, Z, W, I, T> &w) {
    unsigned long c;
    in >> c;
    w.code = c;
    return in;
}
#endif

} // namespace berth

#endif
"""


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


def code_type(qt: QTensor, written: str) -> str:
    """The C++ type of a layer's stored codes, decoded on read into the written weight type."""
    width = decoded_bits(qt)
    integer = width + int(math.log2(qt.scale))  # ap_fixed<W, I> has W - I fractional bits: LSB = step
    return f"berth::offset_code<{qt.bits}, {int(qt.zero_point)}, {width}, {integer}, {written}>"


def code_types(firmware: Path, slots: dict, codes: dict[str, QTensor]) -> None:
    """In the written firmware, give each offset-coded layer's weight array (its ``weightmap.Slot``)
    the code type, and its codes, in the array's order, as the synthesis initializer."""
    offset = {layer: slot for layer, slot in slots.items() if is_offset_coded(codes[layer])}
    if not offset:
        return
    defines = (firmware / "defines.h").read_text()
    defines = defines.replace('#include "ap_int.h"\n', f'#include "ap_int.h"\n#include "{HEADER}"\n', 1)
    for layer, slot in offset.items():
        type_name = f"weight{slot.var[1:]}_t"
        defines, found = re.subn(rf"typedef ([^;]*) {type_name};",
                                 lambda m: f"typedef {code_type(codes[layer], m.group(1))} {type_name};", defines)
        header = firmware / "weights" / f"{slot.var}.h"
        if found != 1 or not header.is_file():
            raise BerthError(f"layer {layer!r}: hls4ml's firmware has no weight type {type_name} / file {header.name}")
        values = ", ".join(str(int(c)) for c in codes[layer].codes.ravel()[slot.perm])
        text, found = re.subn(r"= \{[^}]*\};", lambda _: f"= {{{values}}};", header.read_text())
        if found != 1:
            raise BerthError(f"layer {layer!r}: no initializer of {slot.var} in {header}")
        atomic_write_text(header, text)
    atomic_write_text(firmware / HEADER, HEADER_TEXT)
    atomic_write_text(firmware / "defines.h", defines)


def stored_values(qt: QTensor) -> np.ndarray:
    """What a layer's weight file holds, flat in PyTorch order: its codes when they are offset
    coded (decoded on read in hardware), else the dequantized values."""
    return qt.codes.astype(np.float64).ravel() if is_offset_coded(qt) else qt.dequantize().astype(np.float64).ravel()
