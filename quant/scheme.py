"""Fixed-point quantization schemes: orthogonal options and named presets.

A scheme decides how a float weight tensor becomes integer codes an accelerator stores:

* ``symmetric``: range [-r, r] with r = max|w| (zero exactly representable, narrow range
  -(2^(m-1)-1)..2^(m-1)-1), or asymmetric [min w, max w] over 2^m levels.
* ``granularity``: one range per tensor, or one ``global`` range shared by all layers.
* ``signed``: codes stored as two's complement, or as unsigned offset binary.
* ``rounding``: round to nearest, or truncate toward zero.
* ``bits``: 2..16; ``w_max``: weights clipped to [-w_max, w_max] before quantization.
* ``pow2``: the step is rounded up to a power of two (fixed point).

Storage format matters downstream: hls4ml's ``ap_fixed`` is exact only for power-of-two,
zero-offset, two's-complement weights (``hls_exact``); RQuant stores unsigned offset codes and
is never silently approximated on export.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from berth.core.errors import BerthError, check_choice

MIN_BITS, MAX_BITS = 2, 16


@dataclass(frozen=True)
class QuantScheme:
    """One quantization scheme (see module docstring for each option's meaning)."""

    bits: int = 8
    symmetric: bool = True
    granularity: Literal["tensor", "global"] = "tensor"
    signed: bool = True
    rounding: Literal["round", "trunc"] = "round"
    pow2: bool = False
    w_max: float | None = None
    name: str = "custom"

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not MIN_BITS <= self.bits <= MAX_BITS:
            raise BerthError(f"bits = {self.bits!r} is not allowed; allowed: integers {MIN_BITS}..{MAX_BITS}")
        check_choice("granularity", self.granularity, ("tensor", "global"))
        check_choice("rounding", self.rounding, ("round", "trunc"))
        if self.w_max is not None and not self.w_max > 0:
            raise BerthError(f"w_max = {self.w_max!r} must be > 0 (or unset for no clipping)")
        if self.pow2 and not self.symmetric:
            raise BerthError("pow2 (fixed-point) steps need symmetric = true: an asymmetric range has an offset")

    @property
    def hls_exact(self) -> bool:
        """True when hls4ml's ap_fixed weights can hold these codes exactly (pow2, zero offset, signed)."""
        return self.pow2 and self.symmetric and self.signed

    @property
    def storage(self) -> str:
        """Human-readable storage format of the codes."""
        kind = "two's complement" if self.signed else "unsigned offset binary"
        step = "power-of-two step" if self.pow2 else "float step"
        return f"{self.bits}-bit {kind}, {step}"

    def replace(self, **changes: object) -> "QuantScheme":
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, QuantScheme] = {
    # Stutz et al. "Normal": global symmetric range, signed codes, truncation.
    "normal": QuantScheme(symmetric=True, granularity="global", signed=True, rounding="trunc", name="normal"),
    # Stutz et al. "RQuant": per-tensor asymmetric range, unsigned codes, rounding.
    "rquant": QuantScheme(symmetric=False, granularity="tensor", signed=False, rounding="round", name="rquant"),
    # Per-tensor symmetric, signed, rounded: the common integer baseline.
    "symmetric": QuantScheme(symmetric=True, granularity="tensor", signed=True, rounding="round", name="symmetric"),
    # Fixed point (power-of-two step, two's complement): exact in hls4ml's ap_fixed.
    "fixed": QuantScheme(symmetric=True, granularity="tensor", signed=True, rounding="round", pow2=True, name="fixed"),
}


def get_scheme(name: str, bits: int | None = None, w_max: float | None = None, **overrides: object) -> QuantScheme:
    """The preset ``name`` with ``bits``, ``w_max`` and any other option overridden."""
    if isinstance(name, QuantScheme):
        base = name
    else:
        if name not in PRESETS:
            raise BerthError(f"unknown quantization scheme {name!r}; allowed: {', '.join(PRESETS)}")
        base = PRESETS[name]
    changes = dict(overrides)
    if bits is not None:
        changes["bits"] = bits
    if w_max is not None:
        changes["w_max"] = w_max
    return base.replace(**changes) if changes else base
