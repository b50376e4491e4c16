"""The block-matching golden model against a direct transcription of the spec, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.hardware.blockmatch import BMParams, block_match, ref_positions


def spec_matches(img: np.ndarray, p: BMParams) -> np.ndarray:
    """(R, K, 3) records (dy, dx, dist) by looping over the spec's rules one by one."""
    h, w = img.shape
    n, nb = p.radius, p.block
    records = []
    for y in ref_positions(h, nb, p.stride):
        for x in ref_positions(w, nb, p.stride):
            ref = img[y:y + nb, x:x + nb].astype(int)
            found = []
            for dy in range(-n, n + 1):
                for dx in range(-n, n + 1):
                    if (dy, dx) != (0, 0) and 0 <= y + dy <= h - nb and 0 <= x + dx <= w - nb:
                        e = ref - img[y + dy:y + dy + nb, x + dx:x + dx + nb]
                        d = int((e * e).sum() if p.metric == "ssd" else np.abs(e).sum())
                        if d < p.tau:
                            found.append((d, dy, dx))
            found = sorted(found)[:p.k - 1]
            count = 1
            while 2 * count <= 1 + len(found):
                count *= 2
            slots = [(0, 0, 0)] + [(dy, dx, d) for d, dy, dx in found[:count - 1]]
            records.append(slots + [(0, 0, p.sat)] * (p.k - len(slots)))
    return np.array(records)


CASES = [
    BMParams(window=7, k=8, tau=20_000),
    BMParams(block=4, window=9, metric="sad", k=16, tau=600, stride=2),
    BMParams(window=11, k=4, tau=10**6),
    BMParams(block=4, window=5, k=32, tau=1, stride=5),
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: f"N{p.block}-w{p.window}-{p.metric}-k{p.k}")
def test_equals_spec_transcription(params: BMParams) -> None:
    rng = np.random.default_rng(7)
    img = (rng.integers(0, 4, (23, 29)) * 40).astype(np.uint8)  # few levels: many ties
    got = block_match(img, params)
    want = spec_matches(img, params)
    np.testing.assert_array_equal(got.offsets, want[:, :, :2])
    np.testing.assert_array_equal(got.dist, want[:, :, 2])
    np.testing.assert_array_equal(got.count, (got.dist != params.sat).sum(axis=1))
    assert set(np.unique(got.count)) <= {1, 2, 4, 8, 16, 32}


def test_reference_grid_forces_last_row_and_column() -> None:
    assert ref_positions(256, 8, 3).tolist()[-2:] == [246, 248]
    assert ref_positions(14, 8, 3).tolist() == [0, 3, 6]
    res = block_match(np.zeros((14, 17), np.uint8), BMParams(window=5, k=8))
    assert res.refs.tolist()[:4] == [[0, 0], [0, 3], [0, 6], [0, 9]]
    assert res.refs.tolist()[-1] == [6, 9]


def test_flat_image_keeps_ties_in_scan_order() -> None:
    res = block_match(np.full((16, 16), 77, np.uint8), BMParams(window=5, k=8))
    first = res.offsets[0]  # reference (0, 0): only dy, dx >= 0 are inside
    assert first.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [2, 0], [2, 1]]
    assert (res.dist[:, 1:] == 0).all() and (res.count == 8).all()


@pytest.mark.parametrize("make, message", [
    (lambda: block_match(np.zeros((16, 16, 3), np.uint8)), "shape (16, 16, 3)"),
    (lambda: block_match(np.zeros((16, 16), np.float32)), "dtype float32"),
    (lambda: block_match(np.zeros((16, 16), np.uint16)), "dtype uint16"),
    (lambda: block_match([[0] * 16] * 16), "type list"),
    (lambda: block_match(np.zeros((7, 40), np.uint8)), "smaller than a 8x8 block"),
    (lambda: BMParams(window=38), "search window = 38"),
    (lambda: BMParams(k=64), "k = 64"),
    (lambda: BMParams(k=12), "k = 12"),
    (lambda: BMParams(metric="ncc"), "unknown metric 'ncc'"),
    (lambda: BMParams(block=6), "unknown block size N1 6"),
    (lambda: BMParams(tau=0), "threshold tau = 0"),
    (lambda: BMParams(stride=2.5), "stride = 2.5 must be an integer"),
])
def test_bad_input_is_one_line_error(make, message: str) -> None:
    with pytest.raises(BerthError) as info:
        make()
    assert message in str(info.value) and "\n" not in str(info.value)
