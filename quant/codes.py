"""Quantize float weights to integer codes and back — one formula for QAT and for storage.

``Quantizer`` is one tensor's scheme plus the range it was quantized over: ``encode`` gives the
codes, ``decode`` the float32 value of any code the storage can hold (clean or flipped), and
``fake_quant`` (torch, straight-through gradients) is what the Brevitas layers run during
training and inference. ``QTensor`` holds the same integers as a NumPy array in their storage
container, which is what bit-error models corrupt and what hardware export writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from berth.quant.scheme import QuantScheme

EPSILON = 0.001  # the reference widens a symmetric range by this before dividing it into steps
TINY_RANGE = float(torch.finfo(torch.float32).tiny) * 2**24  # affine ranges narrower than this are one level


def container_dtype(bits: int, signed: bool) -> np.dtype:
    """The narrowest NumPy integer type holding ``bits``-bit codes (int8/uint8/int16/uint16)."""
    if bits <= 8:
        return np.dtype(np.int8 if signed else np.uint8)
    return np.dtype(np.int16 if signed else np.uint16)


def grid_limits(scheme: QuantScheme) -> tuple[int, int]:
    """Smallest and largest grid index g of the affine grid (before the code offset)."""
    m = scheme.bits
    if scheme.symmetric:
        return -(2 ** (m - 1) - 1), 2 ** (m - 1) - 1
    return 0, 2**m - 1


def code_offset(scheme: QuantScheme) -> int:
    """What is added to an affine grid index g to get the stored code."""
    m = scheme.bits
    if scheme.symmetric:
        return 0 if scheme.signed else 2 ** (m - 1)
    return -(2 ** (m - 1)) if scheme.signed else 0


def code_range(scheme: QuantScheme) -> tuple[int, int]:
    """Smallest and largest code the ``bits`` bits can hold (what a bit flip can produce)."""
    return storable_codes(scheme.bits, scheme.signed)


def storable_codes(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest ``bits``-bit code, two's complement or unsigned."""
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def weight_range(weights: list[torch.Tensor], scheme: QuantScheme) -> tuple[float, float]:
    """(lo, hi) of the quantization range over ``weights`` (one tensor, or all for a global range).

    Weights are clipped to [-w_max, w_max] first. A symmetric range is [-r, r] with r = max|w|
    (``stutz``: max|w| + 0.001, at most w_max); an asymmetric one [min w, max w]; a fixed one
    [-w_max, w_max].
    """
    if scheme.granularity == "fixed":
        return -float(scheme.w_max), float(scheme.w_max)
    with torch.no_grad():
        clipped = [_clip(w.detach(), scheme) for w in weights]
        if scheme.symmetric:
            r = max(float(w.abs().max()) for w in clipped)
            if scheme.grid == "stutz":
                r = r + EPSILON if scheme.w_max is None else min(r + EPSILON, scheme.w_max)
            return -r, r
        return min(float(w.min()) for w in clipped), max(float(w.max()) for w in clipped)


def _clip(w: torch.Tensor, scheme: QuantScheme) -> torch.Tensor:
    return w if scheme.w_max is None else torch.clamp(w, -scheme.w_max, scheme.w_max)


@dataclass(frozen=True)
class Quantizer:
    """The quantizer of one tensor: ``scheme`` over the range [lo, hi] (from ``weight_range``).

    Codes are float tensors holding exact integers (as Brevitas expects); ``decode`` accepts any
    code of the container and returns float32 values inside the documented range: [lo, hi], except
    with a power-of-two step, which ap_fixed hardware does not saturate: every code is worth
    (code - zero_point) * step (clean values may pass the range by up to half the rounded-up step).
    """

    scheme: QuantScheme
    lo: float
    hi: float

    # -- Brevitas' linear view: value = (code - zero_point) * scale on clean codes ------------------

    @property
    def scale(self) -> float:
        return float(self._affine()[0]) if self.scheme.grid == "affine" else self._stutz_linear()[0]

    @property
    def zero_point(self) -> float:
        return float(self._affine()[1]) if self.scheme.grid == "affine" else self._stutz_linear()[1]

    def encode(self, w: torch.Tensor) -> torch.Tensor:
        """The codes of float weights ``w`` (float tensor of integers)."""
        w = _clip(w, self.scheme)
        return self._affine_encode(w) if self.scheme.grid == "affine" else self._stutz_encode(w)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Float32 values of ``codes`` (float32 tensor of integers, any value the container holds)."""
        return self._affine_decode(codes) if self.scheme.grid == "affine" else self._stutz_decode(codes)

    def fake_quant(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize-dequantize ``w``: (value, scale, zero_point, codes as float).

        ``value`` carries straight-through gradients (identity w.r.t. ``w`` inside the clipping
        range, zero outside it) when gradients are recorded; otherwise it is exactly the decoded
        codes, as evaluating with stored codes (``berth.quant.inject.use_codes``) computes.
        """
        codes = self.encode(w.detach())
        value = self.decode(codes).to(w.dtype)
        if torch.is_grad_enabled() and w.requires_grad:
            w = _clip(w, self.scheme)
            value = w + (value - w).detach()
        return value, torch.tensor(self.scale), torch.tensor(self.zero_point), codes

    # -- affine grid ---------------------------------------------------------------------------

    def _affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, zero_point) as float32 scalars."""
        s, m = self.scheme, self.scheme.bits
        lo = torch.tensor(self.lo, dtype=torch.float32)
        hi = torch.tensor(self.hi, dtype=torch.float32)
        if hi - lo < TINY_RANGE:  # a constant tensor (or one whose steps would underflow): one level
            scale = torch.tensor(1.0)
        else:
            scale = hi / (2 ** (m - 1) - 1) if s.symmetric else (hi - lo) / (2**m - 1)
        if s.pow2:
            scale = torch.exp2(torch.ceil(torch.log2(scale)))
        if s.symmetric:
            return scale, torch.tensor(float(code_offset(s)))
        if s.pow2:  # an integer zero point: lo's code is the lowest one, every code exact
            return scale, torch.round(-lo / scale) + code_range(s)[0]
        return scale, -lo / scale + code_offset(s)

    def _affine_encode(self, w: torch.Tensor) -> torch.Tensor:
        scale, zero_point = self._affine()
        if self.scheme.symmetric or self.scheme.pow2:  # codes = round(w / step) + zero point
            x, offset = w / scale, zero_point
        else:  # codes = round((w - lo) / step) + the code offset
            x = (w - torch.tensor(self.lo, dtype=torch.float32)) / scale
            offset = torch.tensor(float(code_offset(self.scheme)))
        if self.scheme.symmetric:
            g_lo, g_hi = grid_limits(self.scheme)
        else:  # the codes the bits hold, as indices
            g_lo, g_hi = (float(c - offset) for c in code_range(self.scheme))
        if self.scheme.rounding == "round":
            return torch.clamp(torch.round(x), g_lo, g_hi) + offset
        away = torch.where(x < 0, -1.0, 1.0)
        g = torch.clamp(torch.trunc(x), g_lo, g_hi) + offset
        return _truncated(g, w, away, (g_lo + offset, g_hi + offset), self._affine_decode)

    def _affine_decode(self, codes: torch.Tensor) -> torch.Tensor:
        scale, zero_point = self._affine()
        value = (codes - zero_point) * scale
        if self.scheme.pow2:
            return value
        return torch.clamp(value, self.lo, self.hi)

    # -- the reference's grid ------------------------------------------------------------------

    def _stutz_symmetric(self) -> tuple[float, float]:
        """(c, step) of the symmetric grid: the value bound and the step (Python floats, as the
        reference keeps them)."""
        half = 2 ** (self.scheme.bits - 1) - 1
        if not self.scheme.symmetric:
            return 1.0, (1.0 + EPSILON) / half
        c = self.hi
        return c, ((c + EPSILON) if self.scheme.granularity == "fixed" else c) / half

    def _stutz_linear(self) -> tuple[float, float]:
        _, step = self._stutz_symmetric()
        offset = 0 if self.scheme.signed else 2 ** (self.scheme.bits - 1)
        if self.scheme.symmetric:
            return step, float(offset)
        span = self.hi - self.lo
        if span == 0:
            return 1.0, -self.lo
        return step * span / 2, offset - 1 / step - 2 * self.lo / (step * span)

    def _stutz_encode(self, w: torch.Tensor) -> torch.Tensor:
        m = self.scheme.bits
        if not self.scheme.symmetric:
            if self.hi == self.lo:  # the reference divides 0 by 0 here and stores code 0
                return torch.zeros_like(w)
            w = torch.clamp(w, self.lo, self.hi)
            w = (w - self.lo) / (self.hi - self.lo)
            w = w * 2 - 1
        c, step = self._stutz_symmetric()
        x = torch.clamp(w, -c, c) / step
        if not self.scheme.signed:
            x = x + 2 ** (m - 1)
            x = torch.clamp(x, max=2**m - 1)
        if self.scheme.rounding == "round":
            return torch.round(x)
        # the reference's integer cast: floor for offset codes, toward zero for two's complement
        away = torch.where(x < 0, -1.0, 1.0)
        offset = 0 if self.scheme.signed else 2 ** (m - 1)
        return _truncated(torch.trunc(x), torch.clamp(w, -c, c), away, code_range(self.scheme),
                          lambda codes: (codes - offset) * step)

    def _stutz_decode(self, codes: torch.Tensor) -> torch.Tensor:
        m = self.scheme.bits
        c, step = self._stutz_symmetric()
        if not self.scheme.signed:
            codes = torch.clamp(codes, min=0, max=2**m - 1) - 2 ** (m - 1)
        value = torch.clamp(codes * step, min=-c, max=c)
        if self.scheme.symmetric:
            return value
        value = (value + 1) / 2
        value = value * (self.hi - self.lo) + self.lo
        return torch.clamp(value, min=self.lo, max=self.hi)


def _truncated(codes: torch.Tensor, w: torch.Tensor, away: torch.Tensor, limits: tuple[float, float],
               value: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Truncated ``codes`` moved one step ``away`` (from the grid's anchor) where that code's
    ``value`` does not pass ``w``: the float index w / step lands one ulp short of a grid point
    often enough to lose the top code, and to break code -> value -> code."""
    further = torch.clamp(codes + away, *limits)
    return torch.where((value(further) - w) * away <= 0, further, codes)


@dataclass(frozen=True)
class QTensor:
    """Integer weight codes as stored in accelerator memory, plus what dequantizes them.

    ``codes`` lives in the narrowest container (see ``container_dtype``); bits ``bits`` and above
    of the container are protected: no error model touches them. Signed codes are two's complement
    sign-extended into the container. ``quantizer`` decodes them; without one (codes built by
    hand) a code is worth ``(code - zero_point) * scale``.
    """

    codes: np.ndarray
    scale: float  # an array per output channel for a per-channel Brevitas quantizer
    zero_point: float  # likewise
    bits: int
    signed: bool
    quantizer: Quantizer | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    def dequantize(self) -> np.ndarray:
        """Float32 weights, computed as ``Quantizer.decode`` (torch) does.

        Large tensors evaluate it once per possible container value (2^8 or 2^16) and look the
        codes up in that table: the same float32 numbers, at memory speed, which is what
        evaluating a new chip costs after its bits are flipped.
        """
        from berth.quant.kernels import lookup, parallel  # numba: imported only when a large tensor needs it

        unsigned = np.dtype(f"uint{8 * self.codes.itemsize}")
        if self.codes.size < 4 * 2 ** (8 * unsigned.itemsize) or np.ndim(self.scale) or np.ndim(self.zero_point):
            return self.decode(self.codes)  # small, or one scale per channel: no table of one scale
        table = self.decode(np.arange(2 ** (8 * unsigned.itemsize), dtype=unsigned).view(self.codes.dtype))
        out = np.empty(self.codes.shape, np.float32)
        parallel(lookup, table, self.codes.reshape(-1).view(unsigned), out.reshape(-1))
        return out

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Float32 values of ``codes`` (any integers of this tensor's container)."""
        c = torch.from_numpy(codes.astype(np.float32))
        if self.quantizer is not None:
            return self.quantizer.decode(c).numpy()
        return ((c - torch.tensor(self.zero_point, dtype=torch.float32)) *
                torch.tensor(self.scale, dtype=torch.float32)).numpy()

    def with_codes(self, codes: np.ndarray) -> "QTensor":
        """The same quantizer with other codes (e.g. after bit errors).

        Built by copying the fields directly, as the frozen dataclass's own ``__init__`` does but
        in one step: a chip rebuilds every tensor of a model, and this runs 3x faster.
        """
        new = object.__new__(QTensor)
        fields = new.__dict__
        fields.update(self.__dict__)
        fields["codes"] = codes
        return new


def quantize_tensor(w: torch.Tensor, scheme: QuantScheme, lo: float, hi: float) -> QTensor:
    """The QTensor of ``w`` for the range [lo, hi] (same integers as ``Quantizer.fake_quant``)."""
    quantizer = Quantizer(scheme, float(lo), float(hi))
    with torch.no_grad():
        codes = quantizer.encode(w.detach().to(torch.float32))
    dtype = container_dtype(scheme.bits, scheme.signed)
    return QTensor(codes.numpy().astype(dtype), quantizer.scale, quantizer.zero_point, scheme.bits, scheme.signed,
                   quantizer)
