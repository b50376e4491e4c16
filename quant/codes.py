"""Quantize float weights to integer codes and back — one formula for QAT and for storage.

``fake_quant`` (torch, differentiable by straight-through estimation) is what the Brevitas
layers run during training and inference; ``QTensor`` holds the same integers as a NumPy array in
their storage container, which is what bit-error models corrupt and what hardware export writes.
Dequantization is always ``(code - zero_point) * scale``, Brevitas' convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from berth.quant.scheme import QuantScheme


def container_dtype(bits: int, signed: bool) -> np.dtype:
    """The narrowest NumPy integer type holding ``bits``-bit codes (int8/uint8/int16/uint16)."""
    if bits <= 8:
        return np.dtype(np.int8 if signed else np.uint8)
    return np.dtype(np.int16 if signed else np.uint16)


def grid_limits(scheme: QuantScheme) -> tuple[int, int]:
    """Smallest and largest grid index g a clean weight can take (before the code offset)."""
    m = scheme.bits
    if scheme.symmetric:
        return -(2 ** (m - 1) - 1), 2 ** (m - 1) - 1
    return 0, 2**m - 1


def code_offset(scheme: QuantScheme) -> int:
    """What is added to the grid index g to get the stored code."""
    m = scheme.bits
    if scheme.symmetric:
        return 0 if scheme.signed else 2 ** (m - 1)
    return -(2 ** (m - 1)) if scheme.signed else 0


def weight_range(weights: list[torch.Tensor], scheme: QuantScheme) -> tuple[torch.Tensor, torch.Tensor]:
    """(lo, hi) of the quantization range over ``weights`` (one tensor, or all for a global range)."""
    with torch.no_grad():
        if scheme.symmetric:
            r = torch.stack([w.detach().abs().max() for w in weights]).max()
            if scheme.w_max is not None:
                r = torch.clamp(r, max=scheme.w_max)
            return -r, r
        lo = torch.stack([w.detach().min() for w in weights]).min()
        hi = torch.stack([w.detach().max() for w in weights]).max()
        if scheme.w_max is not None:
            lo, hi = torch.clamp(lo, min=-scheme.w_max), torch.clamp(hi, max=scheme.w_max)
        return lo, hi


def scale_zero_point(lo: torch.Tensor, hi: torch.Tensor, scheme: QuantScheme) -> tuple[torch.Tensor, torch.Tensor]:
    """Step (scale) and zero point for the range [lo, hi] under ``scheme`` (float32 scalars)."""
    m = scheme.bits
    lo = lo.to(torch.float32)
    hi = hi.to(torch.float32)
    if scheme.symmetric:
        scale = hi / (2 ** (m - 1) - 1)
    else:
        scale = (hi - lo) / (2**m - 1)
    scale = torch.clamp(scale, min=torch.finfo(torch.float32).tiny * 2**24)
    if scheme.pow2:
        scale = torch.exp2(torch.ceil(torch.log2(scale)))
    if scheme.symmetric:
        zero_point = torch.tensor(float(code_offset(scheme)), dtype=torch.float32)
    else:
        zero_point = -lo / scale + code_offset(scheme)
    return scale, zero_point


def _to_grid(w: torch.Tensor, lo: torch.Tensor, scale: torch.Tensor, scheme: QuantScheme) -> torch.Tensor:
    x = w / scale if scheme.symmetric else (w - lo) / scale
    x = torch.round(x) if scheme.rounding == "round" else torch.trunc(x)
    g_lo, g_hi = grid_limits(scheme)
    return torch.clamp(x, g_lo, g_hi)


def fake_quant(
    w: torch.Tensor, scheme: QuantScheme, lo: torch.Tensor, hi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantize-dequantize ``w``: returns (value, scale, zero_point, codes as float).

    ``value`` carries straight-through gradients (identity w.r.t. ``w``); the codes are exact
    integers in float32, as Brevitas expects.
    """
    scale, zero_point = scale_zero_point(lo, hi, scheme)
    if scheme.w_max is not None:
        w = torch.clamp(w, -scheme.w_max, scheme.w_max)
    codes = _to_grid(w, lo, scale, scheme).detach() + code_offset(scheme)
    value = (codes - zero_point) * scale
    value = w + (value - w).detach()
    return value, scale.detach(), zero_point.detach(), codes


@dataclass(frozen=True)
class QTensor:
    """Integer weight codes as stored in accelerator memory, plus what dequantizes them.

    ``codes`` lives in the narrowest container (see ``container_dtype``); bits ``bits`` and above
    of the container are protected: no error model touches them. Signed codes are two's complement
    sign-extended into the container.
    """

    codes: np.ndarray
    scale: float
    zero_point: float
    bits: int
    signed: bool

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    def dequantize(self) -> np.ndarray:
        """Float32 weights ``(codes - zero_point) * scale``, computed as torch/Brevitas do.

        Large tensors evaluate the formula once per possible container value (2^8 or 2^16) and
        look the codes up in that table: the same float32 numbers, at memory speed, which is
        what evaluating a new chip costs after its bits are flipped.
        """
        from berth.quant.kernels import lookup, parallel  # numba: imported only when a large tensor needs it

        unsigned = np.dtype(f"uint{8 * self.codes.itemsize}")
        if self.codes.size < 4 * 2 ** (8 * unsigned.itemsize):
            return _dequantize(self.codes, self.zero_point, self.scale)
        patterns = np.arange(2 ** (8 * unsigned.itemsize), dtype=unsigned).view(self.codes.dtype)
        table = _dequantize(patterns, self.zero_point, self.scale)
        out = np.empty(self.codes.shape, np.float32)
        parallel(lookup, table, self.codes.reshape(-1).view(unsigned), out.reshape(-1))
        return out

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


def _dequantize(codes: np.ndarray, zero_point: float, scale: float) -> np.ndarray:
    """``(codes - zero_point) * scale`` in float32 torch arithmetic (Brevitas' convention)."""
    c = torch.from_numpy(codes.astype(np.float32))
    zp = torch.tensor(zero_point, dtype=torch.float32)
    s = torch.tensor(scale, dtype=torch.float32)
    return ((c - zp) * s).numpy()


def quantize_tensor(w: torch.Tensor, scheme: QuantScheme, lo: torch.Tensor, hi: torch.Tensor) -> QTensor:
    """The QTensor of ``w`` for the range [lo, hi] (same integers as ``fake_quant``)."""
    with torch.no_grad():
        _, scale, zero_point, codes = fake_quant(w.detach().to(torch.float32), scheme, lo, hi)
    dtype = container_dtype(scheme.bits, scheme.signed)
    return QTensor(codes.numpy().astype(dtype), float(scale), float(zero_point), scheme.bits, scheme.signed)
