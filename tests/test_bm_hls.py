"""HLS block-matching kernel: golden model = g++ C simulation, bit for bit, plus the generator.

One project per parameter set of the issue (N1 in {4, 8} x {SSD, SAD} x K in {8, 16}) is written
and compiled once per session; each binary then streams crops of both scikit-learn photographs
(clean and noisy) and synthetic edge cases (flat: all-tie distances; checkerboard; ramp; full
contrast) and must equal ``block_match`` exactly.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.hardware.blockmatch import BMParams, block_match
from berth.hardware.blockmatch.vitis import compile_csim, mismatches, read_matches, run_csim, write_pgm, write_project
from berth.hardware.bm3d import add_noise, reference_params, sample_photo, to_pixels

pytestmark = pytest.mark.hls

H, W = 40, 56
SETS = [(n1, metric, k) for n1, metric, k in itertools.product((4, 8), ("ssd", "sad"), (8, 16))]


def params_for(n1: int, metric: str, k: int, window: int = 11) -> BMParams:
    """The stage-1 BM3D threshold for this block size and metric, a small window for CI time."""
    base = reference_params(metric, block=n1, window=window, stride=3, k_ht=k)[0]
    return base


def stimuli(h: int, w: int) -> dict[str, np.ndarray]:
    """Real photographs (clean and noisy crops) and synthetic edge cases of size h x w."""
    out = {}
    for name, (y, x) in (("china", (150, 250)), ("flower", (200, 300))):
        crop = sample_photo(name)[y:y + h, x:x + w]
        out[name] = crop
        out[f"{name}_sigma25"] = to_pixels(add_noise(crop, 25, seed=1))
    yy, xx = np.mgrid[:h, :w]
    out["flat"] = np.full((h, w), 128, np.uint8)
    out["checker"] = (((yy // 2 + xx // 2) % 2) * 255).astype(np.uint8)
    out["ramp"] = ((xx * 4 + yy) % 256).astype(np.uint8)
    out["contrast"] = np.where((yy * 7 + xx * 3) % 5 < 2, 255, 0).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    """One compiled C-simulation binary per parameter set (compiled two at a time)."""
    root = tmp_path_factory.mktemp("hls")
    dummy = np.zeros((H, W), np.uint8)
    projects = {s: write_project(root / f"bm_{s[0]}_{s[1]}_{s[2]}", params_for(*s), dummy) for s in SETS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(zip(projects, pool.map(compile_csim, projects.values())))
    return built


@pytest.fixture(scope="module")
def stimulus_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("stim")
    return {name: (img, write_pgm(root / f"{name}.pgm", img)) for name, img in stimuli(H, W).items()}


@pytest.mark.parametrize("pset", SETS, ids=lambda s: f"N1={s[0]}-{s[1]}-K={s[2]}")
def test_csim_equals_golden(pset, binaries, stimulus_files, tmp_path):
    params = params_for(*pset)
    for name, (img, pgm) in stimulus_files.items():
        got = read_matches(run_csim(binaries[pset], pgm, tmp_path / f"{name}.txt"), params)
        diff = mismatches(block_match(img, params), got)
        assert not diff, f"{name}: " + "; ".join(diff)


def test_flat_image_is_all_ties_broken_by_scan_index(binaries, stimulus_files, tmp_path):
    """Every distance is 0 on a flat image: the kept matches are the first K-1 in scan order."""
    params = params_for(8, "ssd", 8)
    got = read_matches(run_csim(binaries[(8, "ssd", 8)], stimulus_files["flat"][1], tmp_path / "m.txt"), params)
    assert (got.count == 8).all() and (got.dist[:, :8] == 0).all()
    n = params.radius
    first = got.offsets[0]  # reference (0, 0): window clipped to 0 <= dy, dx <= n
    scan = [(dy, dx) for dy in range(n + 1) for dx in range(n + 1) if (dy, dx) != (0, 0)]
    assert [tuple(map(int, o)) for o in first] == [(0, 0)] + scan[:7]


def test_default_window_on_photograph(tmp_path):
    """The BM3D window (39) on a real photograph crop larger than the window."""
    params = reference_params("ssd")[0]
    img = to_pixels(add_noise(sample_photo("china")[100:164, 200:296], 15, seed=2))
    binary = compile_csim(write_project(tmp_path / "prj", params, img, stimulus="china crop"))
    got = read_matches(run_csim(binary, tmp_path / "prj" / "tb" / "input.pgm", tmp_path / "m.txt"), params)
    assert not mismatches(block_match(img, params), got)


def test_mismatch_is_detected(binaries, stimulus_files, tmp_path):
    """The comparison can fail: a binary built for K=16 read as K=8 records, or a changed record."""
    params = params_for(8, "ssd", 16)
    img, pgm = stimulus_files["china"]
    got = read_matches(run_csim(binaries[(8, "ssd", 16)], pgm, tmp_path / "m.txt"), params)
    got.dist[3, 1] += 1
    assert mismatches(block_match(img, params), got)


def test_bench_rejects_wrong_size_and_non_pgm(binaries, tmp_path):
    binary = binaries[(4, "ssd", 8)]
    with pytest.raises(BerthError, match="HLS C simulation failed"):  # wider than the line buffers
        run_csim(binary, write_pgm(tmp_path / "wide.pgm", np.zeros((H, W + 1), np.uint8)), tmp_path / "a.txt")
    (tmp_path / "junk.pgm").write_text("not an image")
    with pytest.raises(BerthError, match="log:"):
        run_csim(binary, tmp_path / "junk.pgm", tmp_path / "b.txt")
