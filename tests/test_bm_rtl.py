"""The block-matching RTL equals the golden model exactly: cocotb on Verilator and Icarus, and a
native Verilator run of a whole 256x256 photograph with the default 39x39 window.

Each configuration is built once (under ``sim_build/``, keyed by parameters and sources).
"""

from __future__ import annotations

import pytest

from hardware.blockmatch import BMParams, block_match
from hardware.blockmatch.stimuli import ALL_STIMULI, PHOTOS, SYNTHETIC, stimulus
from sim.runner import RTLConfig, run

pytestmark = pytest.mark.rtl

# The acceptance parameter sets: N1 in {4, 8} x {SSD, SAD} x K in {8, 16}, on small windows and
# frames that are not multiples of the stride, with P not dividing the window.
ACCEPTANCE = [
    RTLConfig(h=20, w=23, p=3, params=BMParams(block=n, window=7 if n == 8 else 5, stride=3 if n == 8 else 2,
                                               metric=m, k=k, tau=(3000 if m == "ssd" else 24) * n * n))
    for n in (4, 8) for m in ("ssd", "sad") for k in (8, 16)
]
# The Verilator cocotb build sees every stimulus, gaps, back-pressure and the mid-frame reset.
MAIN = RTLConfig(h=24, w=26, p=4, params=BMParams(window=7))


def cfg_id(cfg: RTLConfig) -> str:
    p = cfg.params
    return f"N{p.block}-{p.metric}-K{p.k}-w{p.window}"


def assert_passed(result: tuple[int, int, object], expected_tests: int) -> None:
    tests, failed, log = result
    assert (tests, failed) == (expected_tests, 0), f"{failed} of {tests} cocotb tests failed; see {log}"


@pytest.mark.slow
def test_verilator_all_stimuli_with_gaps_backpressure_and_reset() -> None:
    assert_passed(run("verilator", MAIN, list(ALL_STIMULI), seed=1), 2)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(ACCEPTANCE)), ids=[cfg_id(c) for c in ACCEPTANCE])
def test_icarus_acceptance_parameter_sets(index: int) -> None:
    cfg = ACCEPTANCE[index]
    photo = f"{PHOTOS[index % 2]}-s{(15, 25, 50)[index % 3]}"
    synthetic = SYNTHETIC[index % len(SYNTHETIC)]
    assert_passed(run("icarus", cfg, [photo, synthetic], seed=index, testcase="frames_match_golden"), 1)


def test_icarus_reset_mid_frame() -> None:
    assert_passed(run("icarus", ACCEPTANCE[0], ["china-s50", "ties"], testcase="reset_mid_frame"), 1)


def test_planted_bug_is_caught() -> None:
    """With one term missing from every block distance, the scoreboard must fail the run."""
    buggy = RTLConfig(h=ACCEPTANCE[0].h, w=ACCEPTANCE[0].w, p=ACCEPTANCE[0].p, params=ACCEPTANCE[0].params,
                      defines=("BM_PLANTED_BUG",))
    tests, failed, log = run("icarus", buggy, ["flower-s25"], testcase="frames_match_golden")
    assert (tests, failed) == (1, 1), f"the planted bug went unnoticed; see {log}"
    assert "expected" in log.read_text(), "the scoreboard did not name the first difference"


@pytest.mark.slow
def test_native_full_frame_default_window_equals_golden() -> None:
    from sim.native import mismatches, run_native

    cfg = RTLConfig(h=256, w=256, p=8, params=BMParams())
    image = stimulus("china-s25", 256, 256, seed=0)
    native = run_native(cfg, image)
    assert mismatches(native.result, block_match(image, cfg.params)) == []
    assert native.cycles > 0
