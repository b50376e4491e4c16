"""The block-matching RTL equals the golden model exactly: cocotb on Verilator and Icarus, and a
native Verilator run of a whole 256x256 photograph with the default 39x39 window.

Each configuration is built once (under ``sim_build/``, keyed by parameters and sources).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from berth.hardware.blockmatch import BMParams, block_match
from berth.hardware.blockmatch.perf import Units, frame_done_cycles
from berth.hardware.blockmatch.stimuli import ALL_STIMULI, stimulus
from berth.hardware.blockmatch.params import RTLConfig
from berth.sim.runner import run
from berth.sim.suite import (ACCEPTANCE, FRAME, FRAME_IMAGE, MAIN, MATRIX, MATRIX_IMAGES, acceptance_stimuli,
                             cfg_id)

pytestmark = pytest.mark.rtl


def assert_passed(result: tuple[int, int, object], expected_tests: int) -> None:
    tests, failed, log = result
    assert (tests, failed) == (expected_tests, 0), f"{failed} of {tests} cocotb tests failed; see {log}"


@pytest.mark.slow
def test_verilator_all_stimuli_with_gaps_backpressure_resets_reconfiguration_dropped_pixel_back_to_back() -> None:
    assert_passed(run("verilator", MAIN, list(ALL_STIMULI), seed=1), 5)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(ACCEPTANCE)), ids=[cfg_id(c) for c in ACCEPTANCE])
def test_icarus_acceptance_parameter_sets(index: int) -> None:
    stimuli = acceptance_stimuli(index)
    assert_passed(run("icarus", ACCEPTANCE[index], stimuli, seed=index, testcase="frames_match_golden"), 1)


def test_icarus_reset_mid_frame() -> None:
    assert_passed(run("icarus", ACCEPTANCE[0], ["china-s50", "ties"], testcase="reset_mid_frame"), 1)


# The Wiener stage's K = 32 build, run at K = 16 and a lower threshold between two K = 32 frames.
WIENER = RTLConfig(h=20, w=23, p=3, d=2, g=2, params=BMParams(window=7, k=32, tau=25_600))


@pytest.mark.parametrize("cfg", [ACCEPTANCE[0], WIENER], ids=cfg_id)
def test_icarus_run_time_reconfiguration_between_frames(cfg: RTLConfig) -> None:
    assert_passed(run("icarus", cfg, ["flower-s15", "contrast"], testcase="reconfigure_between_frames"), 1)


def test_icarus_dropped_pixel_is_flagged_and_next_frame_exact() -> None:
    assert_passed(run("icarus", ACCEPTANCE[5], ["china-s25", "ties"], testcase="dropped_pixel_mid_frame"), 1)


def test_icarus_back_to_back_frames_with_reconfiguration_and_an_error_ahead() -> None:
    """On the K = 32 build (the Verilator suite runs the same test on its own build)."""
    assert_passed(run("icarus", WIENER, ["china-s25", "ties"], testcase="back_to_back_frames"), 1)


def test_planted_bug_is_caught() -> None:
    """With one term missing from every block distance, the scoreboard must fail the run."""
    buggy = replace(ACCEPTANCE[0], defines=("BM_PLANTED_BUG",))
    tests, failed, log = run("icarus", buggy, ["flower-s25"], testcase="frames_match_golden")
    assert (tests, failed) == (1, 1), f"the planted bug went unnoticed; see {log}"
    assert "expected" in log.read_text(), "the scoreboard did not name the first difference"


@pytest.mark.slow
def test_native_full_frame_default_window_equals_golden() -> None:
    from berth.sim.native import mismatches, run_native

    image = stimulus(FRAME_IMAGE, FRAME.h, FRAME.w, seed=0)
    native = run_native(FRAME, image, frames=2)  # back to back
    assert [mismatches(r, block_match(image, FRAME.params)) for r in native.results] == [[], []]
    units = Units(FRAME.p, FRAME.d, FRAME.g)
    assert list(native.frame_cycles) == frame_done_cycles(FRAME.h, FRAME.w, FRAME.params, units, frames=2)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", MATRIX, ids=cfg_id)
def test_native_corner_configurations_equal_golden_and_cycle_model(cfg: RTLConfig) -> None:
    """Three copies of each image back to back: every record equal to the golden model's, and
    the cycle at which each frame ends equal to the model's."""
    from berth.sim.native import mismatches, run_native

    for seed, name in enumerate(MATRIX_IMAGES):
        image = stimulus(name, cfg.h, cfg.w, seed=seed)
        native = run_native(cfg, image, frames=3)
        want = block_match(image, cfg.params)
        assert [mismatches(r, want) for r in native.results] == [[], [], []], name
        model = frame_done_cycles(cfg.h, cfg.w, cfg.params, Units(cfg.p, cfg.d, cfg.g), frames=3)
        assert list(native.frame_cycles) == model, name


@pytest.mark.parametrize("cfg", [FRAME, MAIN, WIENER, *ACCEPTANCE, *MATRIX], ids=cfg_id)
def test_verilator_lint_wall_clean(cfg: RTLConfig) -> None:
    import subprocess

    from berth.hardware.blockmatch.params import rtl_source
    from berth.sim.runner import simulator_env

    simulator_env("verilator")
    params = [f"-G{k}={v}" for k, v in cfg.parameters().items()]
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", *params, str(rtl_source())], capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr
