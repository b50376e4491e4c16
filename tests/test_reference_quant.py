"""The paper's presets against the reference implementation's own outputs, code for code.

``fixtures/stutz_reference_quant.npz`` holds what Stutz et al.'s ``common/quantization.py`` computes
on seeded float32 tensors (see ``fixtures/README.md``): codes, dequantized values and the decoded
value of every code the storage can hold, at 8, 4 and 2 bits, edge cases included.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from berth.quant import codes as codes_module
from berth.quant.codes import quantize_tensor, weight_range
from berth.quant.scheme import QuantScheme, get_scheme

FIXTURE = Path(__file__).parent / "fixtures" / "stutz_reference_quant.npz"


def reference_scheme(quantizer: str, bits: int) -> QuantScheme:
    """berth's scheme for a fixture quantizer key."""
    preset = quantizer.split("_")[0]
    if preset in ("normal", "rquant", "clipping"):
        return get_scheme(preset, bits=bits)
    if quantizer == "adaptive_unsym_unsigned_rounded":
        return QuantScheme(grid="stutz", symmetric=False, signed=False, rounding="round", bits=bits)
    assert quantizer == "adaptive_signed_trunc", quantizer
    return QuantScheme(grid="stutz", symmetric=True, signed=True, rounding="trunc", bits=bits)


def entries() -> list[str]:
    with np.load(FIXTURE) as z:
        return json.loads(str(z["meta"]))["entries"]


def within_one_ulp(ours: np.ndarray, theirs: np.ndarray) -> bool:
    return ours.dtype == np.float32 and bool(np.all(np.abs(ours - theirs) <= np.spacing(np.abs(theirs))))


def mismatches(entry: str, z, plant: dict | None = None) -> list[str]:
    """What of ``entry`` berth does not reproduce (empty when everything matches), with the
    scheme's options changed by ``plant``."""
    case, quantizer, bits = entry.split("/")
    scheme = reference_scheme(quantizer, int(bits)).replace(**(plant or {}))
    x = torch.from_numpy(z[f"{case}/input"])
    qt = quantize_tensor(x, scheme, *weight_range([x], scheme))
    out = []
    ref_codes = z[f"{entry}/codes"]
    if qt.codes.dtype != ref_codes.dtype or not np.array_equal(qt.codes.reshape(ref_codes.shape), ref_codes):
        out.append("codes")
    if not within_one_ulp(qt.dequantize().reshape(ref_codes.shape), z[f"{entry}/dequantized"]):
        out.append("dequantized")
    table_codes = z[f"{entry}/decode_codes"]
    if not within_one_ulp(qt.decode(table_codes.astype(qt.codes.dtype)), z[f"{entry}/decode_values"]):
        out.append("decode table")
    return out


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURE) as z:
        yield {k: z[k] for k in z.files}


def test_fixture_covers_every_preset_and_width():
    keys = {tuple(e.split("/")[1:]) for e in entries()}
    for preset in ("normal", "rquant", "clipping"):
        assert {int(b) for q, b in keys if q.startswith(preset)} == {8, 4, 2}


@pytest.mark.parametrize("entry", entries())
def test_reference_reproduced(entry, reference):
    assert mismatches(entry, reference) == []


PRESET_WIDTHS = {(p, b) for p in ("normal", "rquant", "clipping") for b in ("8", "4", "2")}


def caught(reference, plant: dict | None = None) -> set[tuple[str, str]]:
    """(preset, bits) pairs with at least one entry the comparison flags."""
    return {(e.split("/")[1].split("_")[0], e.split("/")[2]) for e in entries() if mismatches(e, reference, plant)}


def test_a_planted_grid_change_is_caught(reference):
    """The comparison is sharp: Brevitas' affine grid in place of the reference's fails every
    preset at every width."""
    assert caught(reference, {"grid": "affine"}) >= PRESET_WIDTHS


def test_a_planted_range_widening_is_caught(reference, monkeypatch):
    """So is the reference's range widening changed from 0.001 to 0.002 (at 2 bits Normal's
    clamped levels do not depend on it)."""
    monkeypatch.setattr(codes_module, "EPSILON", 0.002)
    assert caught(reference) >= PRESET_WIDTHS - {("normal", "2")}


def test_a_flip_only_code_decodes_inside_the_range():
    """Every code the storage can hold decodes inside the clean range, as the reference clamps."""
    for preset in ("normal", "rquant", "clipping"):
        for bits in (2, 4, 8):
            scheme = get_scheme(preset, bits=bits)
            x = torch.linspace(-0.3, 0.7, 101)
            lo, hi = weight_range([x], scheme)
            qt = quantize_tensor(x, scheme, lo, hi)
            table = qt.decode(np.arange(256, dtype=np.uint8))
            assert table.min() >= np.float32(lo) and table.max() <= np.float32(hi)
