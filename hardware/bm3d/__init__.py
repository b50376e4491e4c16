"""BM3D denoising on top of berth's block matcher (the hardware's exact grouping).

``denoise_with_hardware`` runs both BM3D stages with the golden block-matching model and the
hardware's parameters; ``bm3d`` takes any matcher callable with the same output format.
"""

from berth.hardware.bm3d.core import BM3DConfig, BM3DResult, bm3d
from berth.hardware.bm3d.images import (add_noise, load_gray8, match_pixels, psnr, sample_photo, save_gray8,
                                       to_pixels)
from berth.hardware.bm3d.matchers import hardware_matcher, reference_params, denoise_with_hardware

__all__ = ["BM3DConfig", "BM3DResult", "bm3d", "add_noise", "load_gray8", "match_pixels", "psnr", "sample_photo",
           "save_gray8", "to_pixels", "hardware_matcher", "reference_params", "denoise_with_hardware"]
