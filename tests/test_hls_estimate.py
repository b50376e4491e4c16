"""The tool-free resource estimate against real Vivado HLS and Vitis HLS reports of public hls4ml
projects (tests/data/csynth, sources in its README): the error figures the README states hold here,
for all layers, for the layers with an operand under 10 bits and for the Vitis HLS reports."""

from pathlib import Path

import pytest

from berth.core.errors import BerthError
from berth.hardware.hls4ml.estimate import (COEFFICIENTS, Kernel, _nonnegative_fit, dsp_per_product, error_summary,
                                            estimate, estimate_project, fit, project_tool, read_kernels, report_pairs,
                                            terms)

DATA = Path(__file__).parent / "data" / "csynth"
# {group: {resource: (fitted median, fitted worst, left-out median, left-out worst)}} in percent, as the
# README states them (python -m berth.hardware.hls4ml.estimate tests/data/csynth)
STATED = {
    "all layers": {"LUT": (3.9, 17.6, 6.2, 56.8), "FF": (5.0, 54.7, 7.0, 137.7), "DSP": (14.5, 50.0, 19.4, 100.0),
                   "BRAM_18K": (0.0, 14.3, 0.0, 14.3)},
    "an operand under 10 bits": {"LUT": (5.1, 13.4, 10.2, 56.8), "FF": (5.5, 35.1, 6.3, 137.7),
                                 "DSP": (12.5, 25.0, 62.5, 100.0)},
    "Vitis HLS": {"LUT": (1.6, 8.3, 4.2, 8.8), "FF": (8.6, 38.0, 19.4, 41.1), "DSP": (18.3, 36.9, 19.7, 42.8)},
}
LAYERS = {"conv_autoencoder": 7, "jet_tagger_mlp": 4, "separable_cnn": 4, "l1_jet_tagger": 2, "tutorial_mlp_reuse2": 4,
          "tutorial_pruned_mlp": 4, "tutorial_quantized_mlp": 4, "tutorial_quantized_mlp_pynq": 4, "vitis_conv1d": 2,
          "vitis_jet_tagger_mlp": 4}
XC7 = "xc7z020clg400-1"


@pytest.fixture(scope="module")
def pairs():
    return [p for folder in sorted(DATA.iterdir()) if folder.is_dir() for p in report_pairs(folder)]


def test_ten_real_projects_thirty_nine_layers(pairs):
    assert {f: sum(p.project == f for p in pairs) for f in LAYERS} == LAYERS and len(pairs) == 39
    assert {p.kernel.regime for p in pairs} == {"parallel", "latency", "resource"}
    assert sum(p.kernel.narrow for p in pairs) == 10 and sum(p.tool == "Vitis HLS" for p in pairs) == 6


def test_coefficients_are_the_fit_of_the_bundled_reports(pairs):
    assert fit(pairs) == COEFFICIENTS


def test_fit_is_non_negative_with_one_term_per_two_reports():
    assert _nonnegative_fit([[1, 1], [2, 0], [3, 1], [4, 0]], [2, 4, 6, 8]) == pytest.approx([2, 0])
    bent = _nonnegative_fit([[1, 0], [2, 0], [3, 0], [4.4, 1]], [1, 2, 3, 4])  # exact only with the second at -0.4
    assert bent[1] == 0 and 0.9 < bent[0] < 1
    two = _nonnegative_fit([[1, 1], [1, 2]], [3, 4])  # two terms would interpolate both reports exactly
    assert sum(c > 0 for c in two) == 1


def test_stated_error_bounds_hold(pairs):
    summary = error_summary(pairs)
    assert {g: set(v) for g, v in summary.items()} == {g: set(v) for g, v in STATED.items()}
    for group, by_resource in STATED.items():
        for r, bounds in by_resource.items():
            measured = summary[group][r]["fitted"] + summary[group][r]["left_out"]
            assert all(100 * m <= b + 0.05 for m, b in zip(measured, bounds)), (group, r, measured)


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
    quantized = read_kernels(DATA / "tutorial_quantized_mlp")  # 6-bit weights, 6-bit activations, pruned
    q5 = quantized["config5"]
    assert (q5.weight_bits, q5.input_bits, q5.zeros) == (6, 6, 1602)
    assert q5.products == 2048 - 1602 and quantized["config2"].input_bits == 16
    assert read_kernels(DATA / "tutorial_quantized_mlp_pynq")["config5"].multipliers == 32 - 1602 // 64
    vitis = read_kernels(DATA / "vitis_conv1d")["config2_mult"]  # hls4ml 1.x: types inside the structs
    assert (vitis.n_in, vitis.n_out, vitis.weight_bits, vitis.window_bits) == (27, 16, 16, 3 * 9 * 16)


def test_multipliers_move_to_luts_below_ten_bits():
    assert dsp_per_product(16, 16, "xcvu9p-flga2104-2L-e") == 1 and dsp_per_product(32, 32, XC7) == 4

    def kernel(w, a, reuse=1, zeros=0):
        return Kernel("config9", 9, 64, 32, reuse, "latency", w, a, 16, 0, zeros)

    wide, mixed, narrow = (terms(kernel(w, a), XC7) for w, a in ((16, 16), (6, 16), (6, 6)))
    assert wide["DSP"]["dsp products"] == 2048 and wide["LUT"]["lut multipliers"] == 0
    assert mixed["DSP"] == {"dsp products": 0, "mixed products": 2048} and mixed["LUT"]["lut multipliers"] == 2048 * 96
    assert narrow["DSP"] == {"dsp products": 0, "mixed products": 0} and narrow["LUT"]["lut multipliers"] == 2048 * 36
    dsp = [estimate(kernel(w, a), XC7)["DSP"] for w, a in ((6, 6), (6, 16), (16, 16))]
    assert dsp[0] == 0 < dsp[1] < dsp[2]
    shared = terms(kernel(6, 16, reuse=64), XC7)  # a shared multiplier's weight is no constant: 16 bits wide → DSP
    assert shared["DSP"]["dsp products"] == 32 and shared["LUT"]["operand muxes"] == 2048 * 22 * 62 / 64
    assert terms(kernel(16, 16, reuse=2), XC7)["FF"]["operand muxes"] == 0  # two pairs: no holding registers
    assert terms(kernel(6, 6, reuse=64), XC7)["DSP"]["dsp products"] == 0
    pruned = estimate(kernel(16, 16, zeros=1024), XC7)  # zero constant weights cost nothing
    assert pruned["DSP"] < estimate(kernel(16, 16), XC7)["DSP"] and pruned["LUT"] < estimate(kernel(16, 16), XC7)["LUT"]


def test_memories_tool_and_project():
    k = Kernel("config9", 9, 64, 32, 4, "resource", 8, 8, 20, 0)
    assert terms(k, XC7)["BRAM_18K"] == {"weight memory": -(-512 * 8 // 36)}
    assert estimate(Kernel("config9", 9, 64, 32, 4, "latency", 8, 8, 20, 0), XC7)["BRAM_18K"] == 0
    wide = Kernel("config9", 9, 64, 32, 1, "latency", 16, 16, 16, 0)
    assert estimate(wide, XC7, tool="Vitis HLS")["FF"] > estimate(wide, XC7)["FF"]  # Vitis HLS registers more
    with pytest.raises(BerthError, match="unknown HLS tool 'Catapult'; known: Vivado HLS, Vitis HLS"):
        estimate(wide, XC7, tool="Catapult")


def test_project_estimate_reads_the_backend(tmp_path):
    (tmp_path / "firmware").mkdir()
    for name in ("parameters.h", "defines.h", "myproject.cpp"):
        (tmp_path / "firmware" / name).write_bytes((DATA / "vitis_jet_tagger_mlp" / name).read_bytes())
    assert project_tool(tmp_path) == "Vivado HLS"  # no hls4ml_config.yml
    vivado = estimate_project(tmp_path, "xcu250-figd2104-2L-e")
    (tmp_path / "hls4ml_config.yml").write_text("Backend: Vitis\nClockPeriod: 5\n")
    assert project_tool(tmp_path) == "Vitis HLS"
    vitis = estimate_project(tmp_path, "xcu250-figd2104-2L-e")
    assert sorted(vitis) == ["config11", "config2", "config5", "config8"] and vitis["config2"]["layer"] == 2
    assert vitis["config2"]["estimate"]["FF"] > vivado["config2"]["estimate"]["FF"]
    assert vitis["config2"]["estimate"]["LUT"] == vivado["config2"]["estimate"]["LUT"]
