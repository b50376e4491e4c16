"""The tool-free resource estimate against real Vivado HLS reports of public hls4ml projects
(tests/data/csynth, sources in its README): the error figures berth states hold here."""

import statistics
from pathlib import Path

import pytest

from berth.hardware.hls4ml.estimate import (COEFFICIENTS, RESOURCES, Kernel, dsp_per_product, estimate, fit,
                                            left_out_errors, read_kernels, relative_errors, report_pairs)

DATA = Path(__file__).parent / "data" / "csynth"
# (median, worst) relative error per resource: fitted, and with each layer left out of the fit
FITTED = {"LUT": (0.035, 0.08), "FF": (0.085, 0.20), "DSP": (0.085, 0.50), "BRAM_18K": (0.005, 0.15)}
LEFT_OUT = {"LUT": (0.055, 0.24), "FF": (0.15, 0.47), "DSP": (0.11, 1.0), "BRAM_18K": (0.005, 0.15)}


@pytest.fixture(scope="module")
def pairs():
    return [p for folder in sorted(DATA.iterdir()) if folder.is_dir() for p in report_pairs(folder)]


def test_three_real_projects_fifteen_layers(pairs):
    projects = {folder.name: len(report_pairs(folder)) for folder in DATA.iterdir() if folder.is_dir()}
    assert projects == {"jet_tagger_mlp": 4, "separable_cnn": 4, "conv_autoencoder": 7}
    assert {k.regime for k, _, _ in pairs} == {"parallel", "latency", "resource"}


def test_coefficients_are_the_fit_of_the_bundled_reports(pairs):
    assert fit(pairs) == COEFFICIENTS


@pytest.mark.parametrize("resource", RESOURCES)
def test_error_bounds_hold(pairs, resource):
    fitted = relative_errors(pairs)[resource]
    left_out = left_out_errors(pairs)[resource]
    assert statistics.median(fitted) <= FITTED[resource][0] and max(fitted) <= FITTED[resource][1]
    assert statistics.median(left_out) <= LEFT_OUT[resource][0] and max(left_out) <= LEFT_OUT[resource][1]


def test_kernels_read_from_hls4ml_firmware():
    jet = read_kernels(DATA / "jet_tagger_mlp")
    assert sorted(jet) == ["config2", "config4", "config6", "config8"]
    assert (jet["config2"].n_in, jet["config2"].n_out, jet["config2"].reuse_factor) == (16, 64, 1)
    assert (jet["config2"].weight_bits, jet["config2"].input_bits, jet["config2"].accum_bits) == (16, 16, 16)
    conv = read_kernels(DATA / "conv_autoencoder")["config2_mult"]
    assert (conv.n_in, conv.n_out, conv.reuse_factor, conv.strategy, conv.weight_bits) == (9, 8, 9, "resource", 32)
    assert conv.window_bits == 3 * 3 * 1 * 32 and conv.regime == "resource"
    cnn = read_kernels(DATA / "separable_cnn")
    assert "config6_pointwise_mult" in cnn and not any("depthwise" in k for k in cnn)


def test_structure_of_the_model():
    assert dsp_per_product(16, 16, "xcvu9p-flga2104-2L-e") == 1 and dsp_per_product(32, 32, "xc7z020clg400-1") == 4
    assert dsp_per_product(8, 8, "xc7z020clg400-1") == 0 and dsp_per_product(8, 16, "xc7z020clg400-1") == 1
    small = estimate(Kernel("config9", 9, 16, 10, 1, "latency", 4, 6, 14, 0), "xc7z020clg400-1")
    wide = estimate(Kernel("config9", 9, 16, 10, 1, "latency", 16, 16, 14, 0), "xc7z020clg400-1")
    assert small["DSP"] == 0 < wide["DSP"] and small["LUT"] > wide["LUT"]  # small products: LUTs, not DSPs
    k = Kernel("config9", 9, 64, 32, 4, "resource", 8, 8, 20, 0)
    est = estimate(k, "xc7z020clg400-1")
    assert est["BRAM_18K"] == round(COEFFICIENTS["resource"]["BRAM_18K"][0] * -(-512 * 8 // 36))
    latency = estimate(Kernel("config9", 9, 64, 32, 4, "latency", 8, 8, 20, 0), "xc7z020clg400-1")
    assert latency["BRAM_18K"] == 0 and latency["LUT"] > est["LUT"]  # unrolled products vs a memory
