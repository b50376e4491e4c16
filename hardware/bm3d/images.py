"""Test images for denoising: the scikit-learn sample photographs, image files, noise and PSNR.

Choices (fixed so results are reproducible and comparable with the reference BM3D figures):

* Clean images are 8-bit grayscale, ``round(0.299 R + 0.587 G + 0.114 B)`` — what an 8-bit
  camera pipeline streams into the hardware matcher.
* Noise is added in floating point, ``clean + sigma * N(0, 1)`` from ``numpy.random.default_rng
  (seed)``, neither rounded nor clipped: the denoiser sees the same noisy values as the float
  reference BM3D. Only the block matcher, being 8-bit hardware, sees 8-bit pixels: the image
  mapped from its [min, max] onto 0..255 and rounded (``match_pixels``).
* PSNR is measured on the estimate clipped to [0, 255] (not rounded) against the clean 8-bit
  image with peak 255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from berth.core.errors import BerthError

SAMPLE_PHOTOS = ("china", "flower")


def to_gray8(rgb: np.ndarray) -> np.ndarray:
    """8-bit luma ``round(0.299 R + 0.587 G + 0.114 B)`` of an 8-bit RGB image."""
    y = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def sample_photo(name: str) -> np.ndarray:
    """One of scikit-learn's two bundled photographs (427x640) as 8-bit grayscale."""
    from sklearn.datasets import load_sample_images

    if name not in SAMPLE_PHOTOS:
        raise BerthError(f"unknown sample photo {name!r}; allowed: {', '.join(SAMPLE_PHOTOS)}")
    return to_gray8(load_sample_images().images[SAMPLE_PHOTOS.index(name)])


def load_gray8(path: str | Path) -> np.ndarray:
    """Read an image file as 8-bit grayscale; colour images are converted with the luma weights.

    Raises a BerthError for a file that is not an image or whose samples are not 8-bit.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        raise BerthError(f"image file {str(path)!r} is a folder; expected an image file")
    if not path.is_file():
        raise BerthError(f"image file {str(path)!r} does not exist")
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("L", "RGB", "RGBA", "P"):
                arr = np.asarray(im.convert("RGB") if mode == "P" else im)
            else:
                raise BerthError(f"image {str(path)!r} has pixel mode {mode!r}; allowed: 8-bit grayscale or RGB (L, RGB, RGBA, P)")
    except (UnidentifiedImageError, OSError) as exc:
        raise BerthError(f"{str(path)!r} is not a readable image file ({type(exc).__name__})") from None
    return arr.astype(np.uint8) if arr.ndim == 2 else to_gray8(arr)


def save_gray8(path: str | Path, image: np.ndarray) -> Path:
    """Write an image (float or integer) as an 8-bit grayscale PNG, rounded and clipped, atomically."""
    import io

    from PIL import Image

    from berth.core.files import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8), mode="L").save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def add_noise(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``clean + sigma * N(0, 1)`` in float64 (seeded, not rounded, not clipped)."""
    if not sigma > 0:
        raise BerthError(f"noise sigma = {sigma!r} must be > 0")
    rng = np.random.default_rng(seed)
    return clean.astype(np.float64) + sigma * rng.standard_normal(clean.shape)


def to_pixels(image: np.ndarray) -> np.ndarray:
    """What an 8-bit pixel stream carries: ``clip(round(image), 0, 255)`` as uint8."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def match_pixels(image: np.ndarray) -> np.ndarray:
    """The 8-bit pixels BM3D's block matcher sees: ``image`` mapped from [min, max] onto 0..255, rounded.

    The reference BM3D (``bm3d`` 4.x) scales its matching thresholds ``tau_match * N1^2`` by
    ``(max - min)^2 / 255^2`` of the image it matches on, so a matcher with those thresholds fixed
    for 8-bit pixels makes the same comparisons on this image; a noisy image (range beyond 0..255)
    is compressed rather than clipped. A constant image maps to zeros.
    """
    image = np.asarray(image, dtype=np.float64)
    lo, span = float(image.min()), float(image.max() - image.min())
    if span == 0:
        return np.zeros(image.shape, dtype=np.uint8)
    return to_pixels((image - lo) * (255.0 / span))


def psnr(clean: np.ndarray, estimate: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB of ``estimate`` clipped to [0, peak] against ``clean``."""
    err = np.clip(estimate.astype(np.float64), 0.0, peak) - clean.astype(np.float64)
    mse = float(np.mean(err**2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)
