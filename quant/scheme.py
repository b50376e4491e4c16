"""Fixed-point quantization schemes: orthogonal options and named presets.

A scheme decides how a float weight tensor becomes integer codes an accelerator stores:

* ``grid``: the arithmetic from range to codes and back.

  - ``affine``: Brevitas' convention. A symmetric range [-r, r] has the narrow grid
    -(2^(m-1)-1)..2^(m-1)-1 with step r / (2^(m-1)-1); an asymmetric range [lo, hi] has 2^m
    levels with step (hi - lo) / (2^m - 1). Values are ``(code - zero_point) * scale``, held to
    the range (power-of-two steps excepted: ap_fixed hardware decodes every code as it is).
  - ``stutz``: the arithmetic of the reference implementation of Stutz et al. (MLSys 2021). A
    symmetric range [-c, c] has step d / (2^(m-1)-1), where d = c + 0.001 for a fixed range and
    d = c for a data-dependent one (c itself = max|w| + 0.001); codes are offset by 2^(m-1) when
    unsigned, and decoding clamps the code to its m bits and the value to [-c, c]. An
    asymmetric range [lo, hi] is first mapped onto [-1, 1] and quantized by the fixed symmetric
    grid of range 1: 2^m - 1 levels, code 0 unused by clean weights (3 levels at 2 bits).

* ``symmetric``: a range symmetric around zero, or asymmetric [min w, max w].
* ``granularity``: one range per ``tensor``, one ``global`` range shared by all layers, or a
  ``fixed`` range [-w_max, w_max] that does not depend on the weights.
* ``signed``: codes stored as two's complement, or as unsigned offset binary.
* ``rounding``: round to nearest, or truncate: the grid point nearest the anchor whose value does
  not pass the weight (anchor: zero on the affine grid and for two's complement ``stutz`` codes;
  the range's bottom for offset ``stutz`` codes, where the reference's integer cast is a floor).
* ``bits``: 2..16; ``w_max``: weights clipped to [-w_max, w_max] before quantization.
* ``pow2``: the step is rounded up to a power of two (fixed point; affine grid only). With an
  asymmetric range the zero point is an integer, round(-lo / step) plus the lowest code, so every
  code decodes to (code - zero_point) * step exactly.

Storage format matters downstream: hls4ml's ``ap_fixed`` computes a layer exactly only with a
power-of-two step (``hls_exact``): two's-complement codes as they are, offset codes stored as they
are and decoded on read into (code - zero point) * step, in a signed type wide enough for every
code (one bit wider than the codes when the zero point is itself a code). RQuant's float step is
never silently approximated on export.

Presets ``normal``, ``rquant`` and ``clipping`` are the paper's configurations (its evaluation
names them q81unfp, q81auunrfp and q801auunrfp) and reproduce the reference code for code.
``offset`` is RQuant's storage (asymmetric per-tensor range, unsigned offset codes, rounding,
clipping to w_max) with a power-of-two step: the robust scheme that hls4ml computes exactly.
``symmetric-global`` and ``affine`` are what berth called ``normal`` and ``rquant`` before it
followed the reference; a stored model or run keeps its full scheme ``definition``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from berth.core.errors import BerthError, check_choice

MIN_BITS, MAX_BITS = 2, 16


@dataclass(frozen=True)
class QuantScheme:
    """One quantization scheme (see module docstring for each option's meaning)."""

    bits: int = 8
    symmetric: bool = True
    granularity: Literal["tensor", "global", "fixed"] = "tensor"
    signed: bool = True
    rounding: Literal["round", "trunc"] = "round"
    pow2: bool = False
    w_max: float | None = None
    name: str = "custom"
    grid: Literal["affine", "stutz"] = "affine"

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not MIN_BITS <= self.bits <= MAX_BITS:
            raise BerthError(f"bits = {self.bits!r} is not allowed; allowed: integers {MIN_BITS}..{MAX_BITS}")
        check_choice("grid", self.grid, ("affine", "stutz"))
        check_choice("granularity", self.granularity, ("tensor", "global", "fixed"))
        check_choice("rounding", self.rounding, ("round", "trunc"))
        if self.w_max is not None and not self.w_max > 0:
            raise BerthError(f"w_max = {self.w_max!r} must be > 0 (or unset for no clipping)")
        if self.granularity == "fixed" and (self.w_max is None or not self.symmetric):
            raise BerthError(f"granularity = 'fixed' needs w_max (the range is [-w_max, w_max]) and symmetric = true; "
                             f"got w_max = {self.w_max!r}, symmetric = {self.symmetric!r}")
        if self.grid == "stutz" and self.bits > 8:
            raise BerthError(f"bits = {self.bits!r} is not allowed with grid = 'stutz'; allowed: 2..8 (the reference "
                             "keeps its codes in 8-bit words)")
        if self.grid == "stutz" and self.pow2:
            raise BerthError("pow2 = true is not allowed with grid = 'stutz' (its step is (range + 0.001) / levels)")
        if self.grid == "stutz" and not self.symmetric and self.signed:
            raise BerthError("grid = 'stutz' with symmetric = false needs signed = false (the reference stores "
                             "asymmetric ranges as unsigned codes)")

    @property
    def hls_exact(self) -> bool:
        """True when hls4ml computes with every code exactly: a power-of-two step (offset codes are
        decoded on read into (code - zero point) * step, in a type wide enough for every code)."""
        return self.pow2

    @property
    def storage(self) -> str:
        """Human-readable storage format of the codes."""
        kind = "two's complement" if self.signed else "unsigned offset binary"
        step = "power-of-two step" if self.pow2 else "float step"
        return f"{self.bits}-bit {kind}, {step}"

    @property
    def definition(self) -> dict[str, Any]:
        """Every option that decides the codes (all but the name): what a stored run records."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "name"}

    def replace(self, **changes: object) -> "QuantScheme":
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)


_RQUANT = QuantScheme(grid="stutz", symmetric=False, granularity="tensor", signed=False, rounding="round",
                      w_max=1.0, name="rquant")

PRESETS: dict[str, QuantScheme] = {
    # Stutz et al. "Normal" (q81unfp): fixed range [-1, 1], unsigned offset codes, floor.
    "normal": QuantScheme(grid="stutz", symmetric=True, granularity="fixed", signed=False, rounding="trunc",
                          w_max=1.0, name="normal"),
    # Stutz et al. "RQuant" (q81auunrfp): per-tensor asymmetric range, unsigned codes, rounding, clip 1.
    "rquant": _RQUANT,
    # Stutz et al. "Clipping" (q801auunrfp): RQuant with weights clipped to [-0.1, 0.1].
    "clipping": _RQUANT.replace(w_max=0.1, name="clipping"),
    # berth's former "normal": global symmetric affine range, signed codes, truncation.
    "symmetric-global": QuantScheme(symmetric=True, granularity="global", signed=True, rounding="trunc",
                                    name="symmetric-global"),
    # berth's former "rquant": per-tensor asymmetric affine range (2^m levels), unsigned, rounding.
    "affine": QuantScheme(symmetric=False, granularity="tensor", signed=False, rounding="round", name="affine"),
    # Per-tensor symmetric, signed, rounded: the common integer baseline.
    "symmetric": QuantScheme(symmetric=True, granularity="tensor", signed=True, rounding="round", name="symmetric"),
    # RQuant's storage (asymmetric range, unsigned offset codes, rounding, clip 1) on a power-of-two
    # step: (code - zero point) * step is exact in hls4ml's ap_fixed.
    "offset": QuantScheme(symmetric=False, granularity="tensor", signed=False, rounding="round", pow2=True,
                          w_max=1.0, name="offset"),
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
