"""The bit-exact triangle: golden model = RTL (native Verilator) = HLS kernel (g++ C-sim).

All three see the same frames: a noisy crop of a real photograph and the same frame after
line-buffer bit errors (berth's RandomBitErrors on the pixel bits, p = 0.02) — the corrupted
frame streamed through the RTL's and the HLS kernel's pixel inputs gives exactly the golden
model's matches on that frame. Two parameter sets cover both block sizes, both metrics and both
K; golden = HLS C-sim on all eight sets is tests/test_bm_hls.py, golden = RTL on all eight is the
RTL suite.
"""

from __future__ import annotations

import numpy as np
import pytest

from berth.hardware.blockmatch import block_match
from berth.hardware.blockmatch.vitis import compile_csim, mismatches, read_matches, run_csim, write_pgm, write_project
from berth.hardware.bm3d import add_noise, reference_params, sample_photo, to_pixels
from berth.hardware.bm3d.matchers import line_buffer_errors

pytestmark = [pytest.mark.hls, pytest.mark.rtl, pytest.mark.slow]

H, W = 40, 56
SETS = [(8, "ssd", 16), (4, "sad", 8)]


@pytest.mark.parametrize("pset", SETS, ids=lambda s: f"N1={s[0]}-{s[1]}-K={s[2]}")
def test_golden_rtl_hls_agree(pset, tmp_path):
    native = pytest.importorskip("berth.sim.native")
    from berth.hardware.blockmatch.params import RTLConfig

    n1, metric, k = pset
    params = reference_params(metric, block=n1, window=11, stride=3, k_ht=k)[0]
    frame = to_pixels(add_noise(sample_photo("flower")[200:200 + H, 300:300 + W], 25, seed=4))
    frames = {"noisy": frame, "line_buffer_p0.02": line_buffer_errors(frame, 0.02, chip=1)}
    assert not np.array_equal(frames["noisy"], frames["line_buffer_p0.02"])
    binary = compile_csim(write_project(tmp_path / "prj", params, frame))
    for name, img in frames.items():
        golden = block_match(img, params)
        rtl = native.run_native(RTLConfig(h=H, w=W, p=2, params=params), img).result
        hls = read_matches(run_csim(binary, write_pgm(tmp_path / f"{name}.pgm", img), tmp_path / f"{name}.txt"), params)
        assert not native.mismatches(rtl, golden), f"{name}: RTL != golden"
        assert not mismatches(golden, hls), f"{name}: HLS != golden"
