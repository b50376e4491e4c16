"""``berth bm`` commands, the throughput model and the Yosys synthesis estimates."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from berth.cli import main
from berth.hardware.blockmatch import BMParams
from berth.hardware.blockmatch.perf import (DESIGN_1080P, RESOLUTIONS, Units, cycles_per_frame, distances_per_frame,
                                            ramb36_line_buffers, ramb36_lower_bound, throughput)


def test_model_reproduces_the_papers_distance_rate() -> None:
    """Full search at N1=8, window 39, stride 3 needs ~42 distances per cycle for 1080p30 at 250 MHz."""
    h, w = RESOLUTIONS["1920x1080"]
    assert 40 < distances_per_frame(h, w, BMParams()) * 30 / 250e6 < 43


def test_cycle_model_scales_with_units_and_line_buffers_with_width() -> None:
    p = BMParams()
    cycles = [cycles_per_frame(256, 256, p, Units(q, q, g)) for q, g in ((13, 18), (13, 4), (4, 4), (1, 1))]
    assert cycles == sorted(cycles)
    assert ramb36_line_buffers(1920, p) == 49 / 2 and ramb36_line_buffers(3840, p) == 49


def test_1080p_configuration_reaches_30_fps_at_250_mhz_within_the_line_buffer_bound() -> None:
    rows = {t.resolution: t for t in throughput(BMParams(), DESIGN_1080P, 250.0)}
    fps = {name: t.fps for name, t in rows.items()}
    assert fps["1920x1080"] >= 30.0 and fps["1280x720"] > fps["1920x1080"] > fps["3840x2160"]
    assert all(t.fps_streaming >= t.fps for t in rows.values())  # back to back, the next input overlaps
    # 49 rows x 1920 x 8 bits in RAMB36 data bits; one RAMB18 per row is within 1.1x of it.
    assert ramb36_line_buffers(1920, BMParams()) <= 1.1 * ramb36_lower_bound(1920, BMParams())


def test_perf_prints_every_resolution(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no runs/bm/sim.json here: the cycle model alone
    assert main(["bm", "perf", "--clock-mhz", "250"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in RESOLUTIONS) and "Zynq-7030" in out and "4.27 fps" in out
    assert "cycle model only (run 'berth bm sim'" in out


def test_perf_checks_the_model_against_the_sim_results_it_is_given(tmp_path, capsys) -> None:
    """A user image's sim-image.json (one row) is read like the suite's sim.json; a file that is
    missing or holds something else is one line."""
    row = {"run": "native verilator 64x64", "passed": True, "h": 64, "w": 64, "p": 13, "d": 13, "g": 18,
           "params": dataclasses.asdict(BMParams()), "cycles": 12345}
    (tmp_path / "sim-image.json").write_text(json.dumps(row))
    assert main(["bm", "perf", "--sim-results", str(tmp_path / "sim-image.json")]) == 0
    assert "simulated 64x64 frame: 12345 cycles, model " in capsys.readouterr().out
    (tmp_path / "other.json").write_text('{"a": 1}')
    for name, message in (("nope.json", "does not exist; expected the sim.json or sim-image.json"),
                          ("other.json", "is not a 'berth bm sim' result")):
        assert main(["bm", "perf", "--sim-results", str(tmp_path / name)]) == 2
        assert message in capsys.readouterr().err


def test_match_writes_matches_png_and_pdf(tmp_path, capsys) -> None:
    from PIL import Image

    from berth.hardware.blockmatch.stimuli import stimulus

    path = tmp_path / "photo.png"
    Image.fromarray(stimulus("flower-s15", 40, 48, seed=0)).save(path)
    assert main(["bm", "match", str(path), "--window", "9", "--out", str(tmp_path / "out")]) == 0
    png = (tmp_path / "out" / "matches.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "matches.pdf").read_bytes()[:5] == b"%PDF-"
    with np.load(tmp_path / "out" / "matches.npz") as npz:
        assert npz["offsets"].shape[1:] == (16, 2)
    assert "reference blocks" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--metric", "ncc"], "unknown metric 'ncc'"),
    (["--window", "8"], "search window = 8"),
    (["--k", "64"], "k = 64"),
    (["--size", "6x40"], "smaller than a 8x8 block"),
])
def test_match_bad_input_is_one_line_error(argv, message, capsys) -> None:
    assert main(["bm", "match", "flat", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["--sets", "small"], ["--ice40"]])
def test_synth_missing_source_is_one_line_error(argv, tmp_path, capsys) -> None:
    assert main(["bm", "synth", *argv, "--source", str(tmp_path / "old.sv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "old.sv' is not a file" in err and err.count("\n") == 1
    assert not (tmp_path / "synth").exists()


def test_match_reads_images_as_denoise_does(tmp_path, capsys) -> None:
    """One reader for every bm command: a colour image is its luma; a 16-bit one is refused."""
    from PIL import Image

    from berth.flows.blockmatch import load_image
    from berth.hardware.bm3d.images import to_gray8

    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    assert np.array_equal(load_image(str(tmp_path / "colour.png")), to_gray8(rgb))
    Image.fromarray(np.full((16, 16), 40000, np.uint16)).save(tmp_path / "deep.png")
    assert main(["bm", "match", str(tmp_path / "deep.png"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pixel mode" in err and "allowed: 8-bit grayscale or RGB" in err and err.count("\n") == 1


def _cell(kind: str, src: str = "", **pins) -> dict:
    """A mapped cell of a Yosys JSON netlist; pins: name -> (direction, bits)."""
    return {"type": kind, "port_directions": {p: d for p, (d, _) in pins.items()},
            "connections": {p: b for p, (_, b) in pins.items()}, "attributes": {"src": src} if src else {}}


def _netlist(cells: dict, names: dict):
    from berth.hardware.blockmatch.netlist import Netlist

    return Netlist({"cells": cells, "netnames": {n: {"bits": b} for n, b in names.items()}})


def test_critical_path_walks_luts_and_carry_chains() -> None:
    """A flip-flop, a LUT, two chained CARRY4s and a flip-flop: each element adds its delay, a
    CARRY4 entered through CI only its bypass, and the path is named by its registers."""
    from berth.hardware.blockmatch.timing import DELAY_NS, critical_path

    cells = {"a": _cell("FDRE", Q=("output", [2]), D=("input", [9])),
             "l": _cell("LUT2", I0=("input", [2]), I1=("input", [2]), O=("output", [3])),
             "c0": _cell("CARRY4", S=("input", [3, 3, 3, 3]), CO=("output", [4, 10, 11, 12])),
             "c1": _cell("CARRY4", CI=("input", [4]), CO=("output", [5, 13, 14, 15])),
             "b": _cell("FDRE", D=("input", [5]), Q=("output", [6]))}
    path = critical_path(_netlist(cells, {"start": [2], "finish": [6]}))
    want = (DELAY_NS["ff_clk_to_q"] + DELAY_NS["lut"] + DELAY_NS["carry4"] + DELAY_NS["carry4_ci"]
            + DELAY_NS["ff_setup"])
    assert (path.ns, path.luts, path.carry4, path.start, path.end) == (round(want, 2), 1, 2, "start", "finish")
    assert path.fits()


def test_breakdown_charges_logic_to_the_registers_it_computes(tmp_path) -> None:
    """Registers and carry chains count in the section of their source line; a LUT counts in the
    sections of the registers it feeds, shared equally when it feeds two; block RAM by its line."""
    from berth.hardware.blockmatch.breakdown import HEAD, breakdown

    source = tmp_path / "core.sv"
    source.write_text("module core;\n  // ---------------- adders\n  x;\n  // ---------------- lists\n  y;\n")
    cells = {"r1": _cell("FDRE", "core.sv:3.1-3.9", D=("input", [3]), Q=("output", [2])),
             "r2": _cell("FDRE", "core.sv:5.1-5.9|other.sv:1.1-1.2", D=("input", [4]), Q=("output", [6])),
             "m": _cell("RAMB18E1", "core.sv:1.1-1.5", ADDRARDADDR=("input", [2]), DOADO=("output", [7])),
             "shared": _cell("LUT2", I0=("input", [2]), I1=("input", [7]), O=("output", [8])),
             "l1": _cell("LUT1", I0=("input", [8]), O=("output", [3])),
             "l2": _cell("LUT3", I0=("input", [8]), O=("output", [4])),
             "c": _cell("CARRY4", "core.sv:5.3-5.4", S=("input", [2, 2, 2, 2]), CO=("output", [9, 10, 11, 12]))}
    parts = breakdown(_netlist(cells, {}), source)
    assert parts == {HEAD: {"bram36": 0.5}, "adders": {"ff": 1.0, "lut": 1.5},
                     "lists": {"ff": 1.0, "lut": 1.5, "carry4": 1.0}}


@pytest.mark.yosys
@pytest.mark.slow
def test_synthesis_estimates_in_range(tmp_path) -> None:
    from berth.hardware.blockmatch.golden import BMParams
    from berth.hardware.blockmatch.params import RTLConfig
    from berth.hardware.blockmatch.synth import synthesize

    # The smallest core on 640-pixel rows (a minute of Yosys): N1 = 4, window 5, K = 4, P = D = G = 1.
    cfg = RTLConfig(h=480, w=640, p=1, d=1, g=1, params=BMParams(block=4, window=5, k=4, tau=3000 * 16))
    r = synthesize(cfg, tmp_path)
    rows = 5 + 4 - 1 + 3  # line buffers: one RAMB18 per 640-pixel row
    assert r.ramb18 + 2 * r.ramb36 == rows
    assert r.dsp == 0  # squares in LUTs
    assert 1500 <= r.lut <= 6000
    assert 1200 <= r.ff <= 4000  # the pipeline for 250 MHz
    assert 100 <= r.carry4 <= 1000
    assert r.path.fits(), r.path  # 250 MHz by the delay model
    assert sum(p.get("lut", 0) for p in r.parts.values()) == pytest.approx(r.lut, abs=1)
    assert sum(p.get("ff", 0) for p in r.parts.values()) == pytest.approx(r.ff, abs=1)
    assert r.parts["stages 4-6: column sums"]["lut"] > 0.05 * r.lut  # the squares
    assert r.parts["stages 2-3: rotate, shift"]["bram36"] == rows / 2


def test_native_comparison_names_the_first_difference() -> None:
    from dataclasses import replace

    from berth.hardware.blockmatch import block_match
    from berth.sim.native import mismatches

    want = block_match(np.arange(16 * 16, dtype=np.uint8).reshape(16, 16), BMParams(window=5, k=8))
    dist = want.dist.copy()
    dist[3, 1] += 1
    assert mismatches(want, want) == []
    message = f"dist: first difference at (3, 1): {dist[3, 1]} != {want.dist[3, 1]}"
    assert mismatches(replace(want, dist=dist), want) == [message]


@pytest.mark.rtl
@pytest.mark.slow
def test_sim_user_image_with_settings(tmp_path, capsys) -> None:
    from PIL import Image

    from berth.hardware.blockmatch.stimuli import stimulus

    path = tmp_path / "frame.png"
    Image.fromarray(stimulus("china-s25", 19, 22, seed=3)).save(path)
    argv = ["bm", "sim", str(path), "--set", "window=7", "--set", "k=32", "--set", "tau=25600", "--set", "p=3",
            "--set", "d=2", "--set", "g=5", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "bit-exact" in out and (tmp_path / "out" / "sim-image.json").exists()


@pytest.mark.parametrize("setting, message", [
    ("q=3", "--set 'q=3' is not NAME=VALUE"),
    ("window=x", "window must be an integer"),
    ("g=0", "references per group G = 0"),
    ("windw=15", "(did you mean 'window'?)"),
    ("p=100", "P = 100"),  # given above the window: refused, not shrunk to it
])
def test_sim_bad_setting_is_one_line_error(setting, message, capsys) -> None:
    assert main(["bm", "sim", "flat", "--size", "16x16", "--set", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["{png}", "--simulator", "icarus"], "--simulator icarus is not allowed with IMAGE; allowed: --simulator native"),
    (["{png}", "--size", "8x8"], "--size '8x8' crops a built-in stimulus; IMAGE"),
    (["{folder}"], "is a folder; expected an image file"),
    (["flat", "--size", "100000x100000"], "allowed: 1x1 .. 4320x7680"),
    (["--size", "16x16"], "--size needs an IMAGE"),
])
def test_sim_flags_that_do_not_apply_are_one_line_errors(argv, message, tmp_path, capsys) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "f.png")
    argv = [a.format(png=tmp_path / "f.png", folder=tmp_path) for a in argv]
    assert main(["bm", "sim", *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "out").exists()
