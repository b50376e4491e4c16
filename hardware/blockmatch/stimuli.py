"""Test images for the block matcher: real photographs with noise, and synthetic edge cases.

All images are 8-bit grayscale. Photographs are scikit-learn's bundled samples (offline),
converted with the luma ``round(0.299 R + 0.587 G + 0.114 B)``, cropped, with seeded Gaussian
noise added and then rounded and clipped to 0..255, as a camera would stream them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from berth.core.errors import BerthError, check_choice

PHOTOS = ("china", "flower")
SYNTHETIC = ("flat", "checkerboard", "hramp", "vramp", "dramp", "contrast", "ties")
NOISE_SIGMAS = (15, 25, 50)


@lru_cache(maxsize=2)
def photo_gray(name: str) -> np.ndarray:
    """The whole sample photograph ``name`` (427 x 640) as 8-bit luma."""
    check_choice("sample photo", name, PHOTOS)
    from sklearn.datasets import load_sample_images

    rgb = load_sample_images().images[PHOTOS.index(name)]
    luma = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)


def noisy_photo(name: str, h: int, w: int, sigma: float, seed: int, top: int = 150, left: int = 250) -> np.ndarray:
    """An ``h x w`` crop of a photo at (top, left) plus Gaussian noise of std ``sigma`` (seeded)."""
    full = photo_gray(name)
    if top + h > full.shape[0] or left + w > full.shape[1]:
        raise BerthError(f"crop {h}x{w} at ({top}, {left}) does not fit the {full.shape} photo {name!r}")
    crop = full[top:top + h, left:left + w].astype(np.float64)
    noisy = crop + sigma * np.random.default_rng(seed).standard_normal(crop.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def synthetic(name: str, h: int, w: int, seed: int = 0) -> np.ndarray:
    """A synthetic edge case: flat, checkerboard, ramps, full contrast or many ties."""
    check_choice("synthetic image", name, SYNTHETIC)
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    if name == "flat":
        img = np.full((h, w), 128)
    elif name == "checkerboard":
        img = np.where((y + x) % 2, 255, 0)
    elif name == "hramp":
        img = x * 255 // max(w - 1, 1)
    elif name == "vramp":
        img = y * 255 // max(h - 1, 1)
    elif name == "dramp":
        img = (x + y) * 7 % 256
    elif name == "contrast":  # random full-scale pixels: the largest distances
        img = rng.integers(0, 2, (h, w)) * 255
    else:  # ties: a small tile repeated, so many candidates share a distance
        img = rng.integers(0, 3, (3, 2))[y % 3, x % 2] * 60
    return np.asarray(img, dtype=np.uint8)


def stimulus(name: str, h: int, w: int, seed: int) -> np.ndarray:
    """Image by name: a synthetic case, or ``<photo>-s<sigma>`` (e.g. ``china-s25``)."""
    if name in SYNTHETIC:
        return synthetic(name, h, w, seed)
    photo, _, sigma = name.partition("-s")
    if photo not in PHOTOS or not sigma.isdigit():
        allowed = ", ".join(SYNTHETIC + tuple(f"{p}-s<sigma>" for p in PHOTOS))
        raise BerthError(f"unknown stimulus {name!r}; allowed: {allowed}")
    return noisy_photo(photo, h, w, float(sigma), seed)


ALL_STIMULI = tuple(f"{p}-s{s}" for p in PHOTOS for s in NOISE_SIGMAS) + SYNTHETIC
