"""HLS kernel framing and run-time registers, by g++ C simulation against the golden model.

One K = 32 build with the hard-threshold tau (one instance for both BM3D stages) takes one beat
script: frames back to back at the stage-1 and the Wiener-stage registers and at a smaller
run-time size, out-of-range register writes (ignored), a pixel dropped mid-frame, a start of
frame inside a frame, stray pixels before a frame, and a tail of stray pixels. Every well-formed
frame must equal ``block_match`` at its run-time parameters exactly; every malformed one must be
flagged (status bit 1) and the next frame exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from berth.hardware.blockmatch import block_match
from berth.hardware.blockmatch.vitis import (FRAME_DONE, FRAME_ERROR, compile_csim, frame_beats, mismatches,
                                             read_calls, run_csim, write_project, write_script)
from berth.hardware.bm3d import add_noise, reference_params, sample_photo, to_pixels

pytestmark = pytest.mark.hls

H, W = 32, 48
HT, WIENER = reference_params("ssd", window=9, k_ht=32, k_wiener=16)


def crop(name: str, h: int, w: int, sigma: int, seed: int) -> np.ndarray:
    y, x = {"china": (150, 250), "flower": (200, 300)}[name]
    return to_pixels(add_noise(sample_photo(name)[y:y + h, x:x + w], sigma, seed=seed))


def test_framing_and_registers_match_golden(tmp_path):
    a, b, small = crop("china", H, W, 25, 1), crop("flower", H, W, 15, 2), crop("flower", 20, 36, 50, 3)
    regs_ht, regs_wiener = (HT.tau, 32, W, H), (WIENER.tau, 16, W, H)
    dropped = np.delete(frame_beats(b), H * W // 2 + 5, axis=0)
    cut = frame_beats(a)[: H * W // 3]  # a start of frame arrives a third of the way through
    stray = np.array([[7, 0, 0], [9, 0, 1], [1, 1, 1]])  # no start of frame (TUSER with TLAST is none)
    steps = [  # (registers, beats, status, expected params or None for an abandoned frame, image)
        (regs_ht, frame_beats(a), FRAME_DONE, HT, a),
        (regs_wiener, frame_beats(b), FRAME_DONE, WIENER, b),
        ((WIENER.tau, 16, 36, 20), frame_beats(small), FRAME_DONE, WIENER, small),
        ((0, 3, W + 1, 3), frame_beats(small), FRAME_DONE, WIENER, small),  # all ignored
        (regs_ht, dropped, FRAME_ERROR, None, None),
        (regs_ht, np.concatenate([cut, frame_beats(a)]), FRAME_ERROR, None, None),
        (regs_ht, np.zeros((0, 3), np.int64), FRAME_DONE, HT, a),  # starts at the start of frame that broke the last
        (regs_wiener, np.concatenate([stray, frame_beats(b)]), FRAME_DONE | FRAME_ERROR, WIENER, b),
        (regs_wiener, stray, FRAME_ERROR, None, None),  # input used up outside a frame: no frame
    ]
    prj = write_project(tmp_path / "prj", HT, np.zeros((H, W), np.uint8))
    script = write_script(tmp_path / "script.txt", [s[0] for s in steps], np.concatenate([s[1] for s in steps]))
    calls = read_calls(run_csim(compile_csim(prj), script, tmp_path / "out.txt"))
    assert [c.status for c in calls] == [s[2] for s in steps]
    for i, (call, (_, _, _, params, image)) in enumerate(zip(calls, steps)):
        if params is not None:
            diff = mismatches(block_match(image, params), call.matches(params))
            assert not diff, f"call {i}: " + "; ".join(diff)
    assert not calls[-1].records.size
