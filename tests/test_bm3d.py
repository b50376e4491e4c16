"""BM3D on the hardware block matcher: transforms, both stages on real photographs (crops), the
matcher's role, pixel-precision and line-buffer error models, bad input.

The full-size PSNR table against the reference BM3D is ``benchmarks/bench_bm3d.py``; here a
96 x 96 centre crop of each photograph at sigma = 25 must stay within 0.2 dB of the figure
measured when this test was written (so a regression in either stage fails).
"""

from __future__ import annotations

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.hardware.blockmatch import block_match
from berth.hardware.bm3d import (BM3DConfig, add_noise, bm3d, denoise_with_hardware, load_gray8, match_pixels, psnr,
                           reference_params, sample_photo)
from berth.hardware.bm3d.core import group_variance
from berth.hardware.bm3d.matchers import line_buffer_errors, reduce_pixel_bits, ssd_to_sad_tau
from berth.hardware.bm3d.study import centre_crop
from berth.hardware.bm3d.transforms import (basis_autocorrelation, bior15_matrix, dct_matrix, haar_matrix,
                                      transform_1d, transform_2d)

# Measured (2026-12, seed 0): (noisy, final) dB on the 96 x 96 centre crops at sigma = 25.
CROP_DB = {"china": (20.46, 25.64), "flower": (20.26, 25.03)}


@pytest.fixture(scope="module")
def crops():
    return {name: centre_crop(sample_photo(name), 96) for name in CROP_DB}


def test_transforms():
    for n in (4, 8):
        assert np.allclose(dct_matrix(n) @ dct_matrix(n).T, np.eye(n))
        b = bior15_matrix(n)
        assert np.allclose(np.linalg.norm(b, axis=1), 1) and np.allclose(b[0], 1 / np.sqrt(n))
        fwd, inv = transform_2d("bior1.5", n)
        assert np.allclose(inv @ fwd, np.eye(n * n))
    for n in (1, 2, 4, 8, 16, 32):
        assert np.allclose(haar_matrix(n) @ haar_matrix(n).T, np.eye(n))
    assert np.allclose(np.kron(transform_1d("dct", 8), transform_1d("dct", 8)), transform_2d("dct", 8)[0])
    with pytest.raises(ValueError):
        haar_matrix(3)
    with pytest.raises(BerthError, match="unknown 2-D transform"):
        transform_2d("wht", 8)


@pytest.mark.parametrize("name", list(CROP_DB))
def test_psnr_on_photograph_crop(crops, name):
    clean = crops[name]
    noisy = add_noise(clean, 25, seed=0)
    res = denoise_with_hardware(noisy, 25)
    noisy_db, final_db = CROP_DB[name]
    assert psnr(clean, noisy) == pytest.approx(noisy_db, abs=0.01)
    assert psnr(clean, res.final) >= final_db - 0.2
    assert psnr(clean, res.final) > psnr(clean, res.basic) > noisy_db + 3
    assert np.array_equal(res.match_ht.count, block_match(match_pixels(noisy), reference_params()[0]).count)


def test_groups_come_from_the_matcher(crops):
    """Singleton groups (a matcher that finds nothing) denoise clearly worse than real groups."""
    clean = crops["china"]
    noisy = add_noise(clean, 25, seed=0)
    ht, wi = reference_params()

    def lonely(pixels, params):
        r = block_match(pixels, params)
        return type(r)(refs=r.refs, offsets=np.zeros_like(r.offsets), dist=r.dist, count=np.ones_like(r.count))

    alone = bm3d(noisy, 25, lonely, ht, wi)
    grouped = bm3d(noisy, 25, block_match, ht, wi)
    assert psnr(clean, grouped.final) > psnr(clean, alone.final) + 0.3


def test_matcher_sees_the_range_mapped_image(crops):
    """Both stages match on the image mapped from its [min, max] onto 0..255, at every sigma."""
    seen = []

    def spy(pixels, params):
        seen.append(pixels)
        return block_match(pixels, params)

    clean = crops["flower"][:48, :48]
    ht, wi = reference_params(window=9)
    noisy = add_noise(clean, 50, seed=3)
    res = bm3d(noisy, 50, spy, ht, wi)
    assert np.array_equal(seen[0], match_pixels(noisy)) and np.array_equal(seen[1], match_pixels(res.basic))
    assert seen[0].min() == 0 and seen[0].max() == 255
    ramp = np.array([[-100.0, 0.0, 155.0, 410.0]])
    assert match_pixels(ramp).tolist() == [[0, 50, 128, 255]]
    assert match_pixels(np.full((4, 4), 7.0)).max() == 0


def test_group_variance_of_overlapping_blocks():
    """Exact noise variance of group coefficients against a Monte Carlo estimate, and its limits."""
    n = 4
    t = transform_1d("dct", n)
    auto = basis_autocorrelation(t)
    assert np.allclose(auto[:, n - 1], 1) and np.allclose(auto, auto[:, ::-1])
    haar = haar_matrix(4)
    ys = np.array([[0, 0, 1, 9]])
    xs = np.array([[0, 1, 0, 9]])  # three overlapping blocks and one apart
    var = group_variance(haar, ys, xs, auto, layers=4)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((20000, 16, 16))
    blocks = np.stack([noise[:, y:y + n, x:x + n].reshape(-1, n * n) for y, x in zip(ys[0], xs[0])], axis=1)
    spectra = haar @ (blocks @ np.kron(t, t).T)
    assert np.allclose(var[0], spectra.var(axis=0), rtol=0.05, atol=0.03)
    assert var[0, 0, 0] > 2  # the group DC of overlapping blocks carries more noise
    apart = group_variance(haar, np.array([[0, 0, 8, 8]]), np.array([[0, 8, 0, 8]]), auto, layers=4)
    assert np.allclose(apart, 1)
    assert np.allclose(group_variance(haar, ys, xs, auto, layers=1)[0, 1:], 1)


def test_dct_hard_stage_runs(crops):
    clean = crops["flower"][:48, :48]
    noisy = add_noise(clean, 15, seed=1)
    res = bm3d(noisy, 15, block_match, *reference_params(window=9), BM3DConfig(transform_ht="dct"))
    assert psnr(clean, res.final) > psnr(clean, noisy) + 2


def test_sad_threshold_and_pixel_bits():
    assert ssd_to_sad_tau(192_000, 8) == 2797
    ht, wi = reference_params("sad")
    assert (ht.metric, ht.tau, wi.k) == ("sad", 2797, 32)
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    low, p6 = reduce_pixel_bits(pixels, reference_params()[0], 6)
    assert low.max() == 63 and p6.tau == 192_000 // 16
    assert reduce_pixel_bits(pixels, ht, 6)[1].tau == round(2797 / 4)


def test_line_buffer_errors_are_persistent_nested_and_at_rate_p():
    pixels = np.random.default_rng(0).integers(0, 256, (128, 128), dtype=np.uint8)
    assert line_buffer_errors(pixels, 0.0, chip=0) is pixels
    small = line_buffer_errors(pixels, 0.01, chip=5) ^ pixels
    large = line_buffer_errors(pixels, 0.05, chip=5) ^ pixels
    assert np.array_equal(small, line_buffer_errors(pixels, 0.01, chip=5) ^ pixels)
    assert np.all((small & large) == small)  # nested: flips at p are flips at larger p
    rate = np.unpackbits(large).mean()
    assert 0.045 < rate < 0.055
    assert not np.array_equal(small, line_buffer_errors(pixels, 0.01, chip=6) ^ pixels)
    six = line_buffer_errors(pixels >> 2, 0.5, chip=1, bits=6)
    assert six.max() < 64


def test_bad_input(tmp_path):
    img = np.zeros((32, 32))
    with pytest.raises(BerthError, match="sigma = 0"):
        add_noise(img, 0, seed=0)
    with pytest.raises(BerthError, match="must be > 0"):
        bm3d(img, -1, block_match, *reference_params())
    with pytest.raises(BerthError, match="2-D grayscale"):
        bm3d(np.zeros((32, 32, 3)), 10, block_match, *reference_params())
    with pytest.raises(BerthError, match="mu2 = 0"):
        BM3DConfig(mu2=0)
    with pytest.raises(BerthError, match="exact_layers = -1"):
        BM3DConfig(exact_layers=-1)
    with pytest.raises(BerthError, match="unknown sample photo"):
        sample_photo("lena")
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(BerthError, match="not a readable image"):
        load_gray8(tmp_path / "x.png")
    with pytest.raises(BerthError, match="does not exist"):
        load_gray8(tmp_path / "missing.png")
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint16) + 1000).save(tmp_path / "deep.png")
    with pytest.raises(BerthError, match="pixel mode"):
        load_gray8(tmp_path / "deep.png")


def test_sad_thresholds_are_the_ones_docs_blockmatch_pins():
    assert [ssd_to_sad_tau(t * n * n, n) for n in (8, 4) for t in (3000, 400)] == [2797, 1021, 699, 255]
