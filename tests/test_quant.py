"""Quantization schemes: step error, the reference's presets, Brevitas holds berth's integers."""

import numpy as np
import pytest
import torch

from berth.models import create_model
from berth.quant.bits import from_words, to_words
from berth.quant.brevitas_quant import quantized_layers
from berth.quant.codes import QTensor, quantize_tensor, weight_range
from berth.quant.inject import model_codes, use_codes
from berth.quant.scheme import PRESETS, get_scheme

BITS = [2, 3, 4, 8, 12, 16]


def preset_bits():
    """(preset, bits) pairs the preset allows (the reference's grid keeps 8-bit words)."""
    return [(p, b) for p in sorted(PRESETS) for b in BITS if PRESETS[p].grid == "affine" or b <= 8]


@pytest.mark.parametrize("preset,bits", preset_bits())
def test_dequantize_error_at_most_half_a_step_when_rounding(preset, bits):
    """Against the clipped weights: a step when truncating, half a step when rounding."""
    scheme = get_scheme(preset, bits=bits)
    w = torch.randn(4000, generator=torch.Generator().manual_seed(bits)) * 0.3
    lo, hi = weight_range([w], scheme)
    qt = quantize_tensor(w, scheme, lo, hi)
    clipped = w.numpy() if scheme.w_max is None else np.clip(w.numpy(), -scheme.w_max, scheme.w_max)
    err = np.abs(qt.dequantize() - clipped).max()
    step = qt.scale
    float32_slack = 8 * np.finfo(np.float32).eps * float(max(abs(lo), abs(hi)))
    if scheme.rounding == "round":
        assert err <= 0.5 * step + float32_slack
    else:
        assert err < step + float32_slack


@pytest.mark.parametrize("preset,bits", preset_bits())
def test_codes_survive_the_word_round_trip(preset, bits):
    scheme = get_scheme(preset, bits=bits)
    w = torch.randn(4000, generator=torch.Generator().manual_seed(1))
    qt = quantize_tensor(w, scheme, *weight_range([w], scheme))
    assert np.array_equal(from_words(to_words(qt.codes, bits), bits, qt.codes.dtype), qt.codes)


def test_presets_are_the_papers_configurations():
    normal, rquant, clipping = get_scheme("normal"), get_scheme("rquant"), get_scheme("clipping")
    assert (normal.grid, normal.granularity, normal.signed, normal.rounding, normal.w_max) == (
        "stutz", "fixed", False, "trunc", 1.0)
    assert (rquant.grid, rquant.symmetric, rquant.signed, rquant.rounding, rquant.w_max) == (
        "stutz", False, False, "round", 1.0)
    assert clipping.definition == {**rquant.definition, "w_max": 0.1}
    assert get_scheme("rquant", w_max=0.1).definition == clipping.definition
    # berth's earlier definitions, under their own names
    old_normal, old_rquant = get_scheme("symmetric-global"), get_scheme("affine")
    assert (old_normal.grid, old_normal.symmetric, old_normal.granularity, old_normal.signed, old_normal.rounding) == (
        "affine", True, "global", True, "trunc")
    assert (old_rquant.grid, old_rquant.symmetric, old_rquant.signed, old_rquant.rounding) == (
        "affine", False, False, "round")
    assert get_scheme("fixed").hls_exact and not normal.hls_exact and not rquant.hls_exact


def test_global_range_is_shared_across_layers():
    model = create_model("mlp", scheme="symmetric-global", bits=8)
    scales = {qt.scale for qt in model_codes(model).values()}
    assert len(scales) == 1
    model = create_model("mlp", scheme="symmetric", bits=8)
    assert len({qt.scale for qt in model_codes(model).values()}) == 3


MODELS = [("mlp", {}), ("lenet", {}), ("simplenet", {"widths": (8, 16)}), ("resnet20", {"width": 4})]


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("name,kw", MODELS)
def test_brevitas_integers_equal_berth_integers(preset, name, kw):
    model = create_model(name, scheme=preset, bits=6, **kw)
    codes = model_codes(model)
    layers = quantized_layers(model)
    assert list(codes) == list(layers)
    for lname, layer in layers.items():
        brevitas_int = layer.quant_weight().int().detach().numpy().astype(np.int64)
        assert np.array_equal(brevitas_int, codes[lname].codes.astype(np.int64)), lname


def test_per_layer_schemes_and_bits():
    model = create_model("lenet", scheme="rquant", bits=8, layer_schemes={"fc2": {"bits": 4}, "conv1": "fixed"})
    codes = model_codes(model)
    assert codes["fc2"].bits == 4 and codes["fc1"].bits == 8
    assert codes["conv1"].signed and not codes["conv2"].signed


def test_override_changes_output_and_restores():
    model = create_model("lenet").eval()
    x = torch.rand(4, 1, 8, 8)
    clean = model(x)
    codes = model_codes(model)
    zeroed = {n: qt.with_codes(np.zeros_like(qt.codes)) for n, qt in codes.items()}
    with use_codes(model, zeroed):
        assert not torch.allclose(model(x), clean)
    assert torch.equal(model(x), clean)


def test_clipping_bounds_weights_but_not_norm_scales():
    model = create_model("resnet20", width=4, in_channels=3, input_size=8, scheme="symmetric", w_max=0.1)
    from berth.train.loop import clip_weights

    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    clip_weights(model)
    for layer in quantized_layers(model).values():
        assert layer.weight.abs().max() <= 0.1 + 1e-7
    assert model.bn1.weight.abs().max() > 0.1  # reparameterized norm (scale 1 + gamma) is not clipped


def test_global_range_survives_loading_a_state_dict():
    """Brevitas re-creates its tensor_quant on load; the global-range binding must follow."""
    source = create_model("lenet", scheme="symmetric-global", seed=1)
    model = create_model("lenet", scheme="symmetric-global", seed=2)
    model.load_state_dict(source.state_dict())
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(model.eval()(x), source.eval()(x))
    assert {qt.scale for qt in model_codes(model).values()} == {qt.scale for qt in model_codes(source).values()}


@pytest.mark.parametrize("bits,signed", [(4, True), (8, False), (8, True), (12, True), (16, False)])
def test_table_dequantization_equals_the_formula(qtensor_factory, bits, signed):
    """Large tensors dequantize through a per-value table: bit-identical to decoding each code."""
    qt = qtensor_factory(300_000, bits, signed, seed=3)
    plain = QTensor(qt.codes, 0.0123, 7.0 if not signed else 0.0, bits, signed)
    assert np.array_equal(plain.dequantize(), plain.decode(plain.codes))
    scheme = get_scheme("symmetric" if signed else ("rquant" if bits <= 8 else "affine"), bits=bits)
    w = torch.randn(300_000, generator=torch.Generator().manual_seed(4))
    qt = quantize_tensor(w, scheme, *weight_range([w], scheme)).with_codes(qt.codes)
    assert np.array_equal(qt.dequantize(), qt.decode(qt.codes))
