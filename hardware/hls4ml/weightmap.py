"""Where berth's integer codes live in the HLS project: one slot per quantized layer.

A slot says which hls4ml weight variable (``firmware/weights/<var>.txt``) holds a layer's weight
and in which order: ``perm[i]`` is the flat (C-order) index into the layer's PyTorch weight of the
i-th value in the file. It is measured, not assumed: a probe graph whose weights are their own
indices goes through the same conversion (see graph.probe_copy), so every transposition hls4ml
and qonnx apply — channels-last, Gemm→MatMul, the Resource strategy — is captured. The map is then
checked against the real project's arrays before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError
from berth.core.files import atomic_write_bytes, atomic_write_text
from berth.hardware.hls4ml.convert import weight_variables
from berth.hardware.hls4ml.offset import stored_values
from berth.quant.codes import QTensor


@dataclass(frozen=True)
class Slot:
    """Layer ``layer``'s codes live in weight variable ``var`` in the order ``perm``."""

    layer: str
    var: str
    perm: np.ndarray


def find_slots(probe_hls_model, offsets: dict[str, tuple[int, int]]) -> dict[str, Slot]:
    """Read each layer's slot off the converted probe model (exactly one variable per layer)."""
    slots: dict[str, Slot] = {}
    for var_name, var in weight_variables(probe_hls_model).items():
        data = np.asarray(var.data, dtype=np.float64).ravel()
        if data.size == 0 or not np.all(data == np.round(data)):
            continue
        for layer, (offset, size) in offsets.items():
            perm = data.astype(np.int64) - offset
            if data.size == size and perm.min() >= 0 and perm.max() < size and np.unique(perm).size == size:
                if layer in slots:
                    raise BerthError(f"layer {layer!r}: weights found in two hls4ml variables "
                                     f"({slots[layer].var}, {var_name})")
                slots[layer] = Slot(layer, var_name, perm)
    missing = [layer for layer in offsets if layer not in slots]
    if missing:
        raise BerthError(f"layer {missing[0]!r}: its weights were not found intact in the hls4ml model "
                         "(a conversion pass changed them)")
    return {layer: slots[layer] for layer in offsets}  # berth's layer order


def slot_values(slot: Slot, qt: QTensor) -> np.ndarray:
    """The values the slot's file holds for codes ``qt``: dequantized, in the file's order."""
    return qt.dequantize().astype(np.float64).ravel()[slot.perm]


def check_slots(hls_model, slots: dict[str, Slot], codes: dict[str, QTensor]) -> None:
    """The real model's weight arrays must equal berth's codes through the map, bit for bit."""
    variables = weight_variables(hls_model)
    for layer, slot in slots.items():
        data = np.asarray(variables[slot.var].data, dtype=np.float64).ravel()
        if data.shape != slot.perm.shape or not np.array_equal(data, slot_values(slot, codes[layer])):
            raise BerthError(f"layer {layer!r}: hls4ml weight {slot.var} differs from berth's codes "
                             "through the probed map")


def format_values(values: np.ndarray) -> str:
    """One line of comma-separated exact decimals (dyadic values print exactly, no exponent)."""
    return ", ".join(np.format_float_positional(v, unique=True, trim="-") for v in values.astype(np.float64))


def write_slot(weights_dir: Path, slot: Slot, qt: QTensor) -> Path:
    """Write codes ``qt`` into the slot's ``<var>.txt`` under ``weights_dir`` (atomically): their
    values, or the codes themselves where hardware decodes them on read (``offset.stored_values``)."""
    values = stored_values(qt)[slot.perm]
    return atomic_write_text(Path(weights_dir) / f"{slot.var}.txt", format_values(values) + "\n")


def save_slots(path: Path, slots: dict[str, Slot], codes: dict[str, QTensor] | None = None) -> None:
    """Store the map as .npz: per layer its variable name and permutation, and with ``codes`` what
    its memory holds — the clean stored codes in their container, zero point, step and width (see
    ``stored_codes``); the weight files hold (code - zero point) * step of these codes."""
    import io

    arrays = {}
    for i, slot in enumerate(slots.values()):
        arrays[f"layer_{i}"] = np.array(slot.layer)
        arrays[f"var_{i}"] = np.array(slot.var)
        arrays[f"perm_{i}"] = slot.perm
        if codes is not None:
            qt = codes[slot.layer]
            arrays.update({f"codes_{i}": qt.codes, f"zero_point_{i}": np.array(qt.zero_point),
                           f"step_{i}": np.array(qt.scale), f"bits_{i}": np.array(qt.bits)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_slots(path: Path) -> dict[str, Slot]:
    """Read a map written by ``save_slots`` (layer order preserved)."""
    with np.load(path) as data:
        n = sum(1 for k in data.files if k.startswith("layer_"))
        slots = [Slot(str(data[f"layer_{i}"]), str(data[f"var_{i}"]), data[f"perm_{i}"]) for i in range(n)]
    return {s.layer: s for s in slots}


def stored_codes(path: Path) -> dict[str, tuple[np.ndarray, float, float, int]]:
    """``{layer: (clean codes, zero point, step, bits)}`` from a map saved with its codes."""
    with np.load(path) as data:
        n = sum(1 for k in data.files if k.startswith("layer_"))
        return {str(data[f"layer_{i}"]): (data[f"codes_{i}"], float(data[f"zero_point_{i}"]),
                                           float(data[f"step_{i}"]), int(data[f"bits_{i}"])) for i in range(n)}
