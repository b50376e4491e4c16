"""The hardware target of an HLS project: FPGA part, clock, I/O style, strategy, reuse factor, and
per-layer settings (precisions, reuse factor, strategy, pass-through hls4ml keys).

Loaded from the ``[target]`` table of a TOML config (unknown keys are errors) and saved, resolved,
into every project so that a project always says what it was generated for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from berth.core.errors import BerthError

PRECISIONS = ("weight", "bias", "accum", "result")
# hls4ml's keys that berth sets from typed settings: a pass-through table may not set them too
TYPED_KEYS = {"Precision": "weight/bias/accum/result", "ReuseFactor": "reuse_factor", "Strategy": "strategy"}
_PRECISION = re.compile(r"^(?:ap_)?(u?)(fixed)<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*\w+\s*){0,3}>$"
                        r"|^(?:ap_)?(u?)(int)<\s*(\d+)\s*>$")


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed``/``ap_int`` type by its shape: total ``width``, ``integer`` bits, ``signed``."""

    width: int
    integer: int
    signed: bool

    @property
    def fraction(self) -> int:
        return self.width - self.integer

    def holds(self, other: "FixedType") -> bool:
        """True when every value of ``other`` is a value of this type (same step or finer, wider range)."""
        if self.fraction < other.fraction:
            return False
        if other.signed:
            return self.signed and self.integer >= other.integer
        return self.integer >= other.integer + (1 if self.signed else 0)

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}fixed<{self.width},{self.integer}>"


def parse_precision(text: str, where: str) -> FixedType:
    """The shape of an hls4ml precision string (``fixed<16,6>``, ``ap_ufixed<8,0,RND,SAT>``, ``int<8>``)."""
    m = _PRECISION.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise BerthError(f"{where} = {text!r} is not an hls4ml fixed-point precision; allowed forms: "
                         "'fixed<W,I>', 'ufixed<W,I>' (optionally with rounding and saturation modes), 'int<W>', 'uint<W>'")
    unsigned, kind, width, integer = (m.group(1, 2, 3, 4) if m.group(2) else m.group(5, 6, 7, 7))
    width, integer = int(width), int(integer)
    if not 1 <= width <= 1024:
        raise BerthError(f"{where} = {text!r}: width {width} is outside 1..1024")
    return FixedType(width, integer, unsigned != "u")


def _check_pass_through(table: dict[str, Any], where: str) -> None:
    for key in table:
        if key in TYPED_KEYS:
            raise BerthError(f"{where}.{key}: berth sets it from {TYPED_KEYS[key]}; use that setting instead")


@dataclass(frozen=True)
class LayerSettings:
    """Settings of one quantized layer (named as berth names it, e.g. ``conv1`` or ``body.1``).

    ``weight``/``bias``/``accum``/``result``: hls4ml precisions (``fixed<W,I>``); unset keeps the type
    hls4ml infers from the quantizers, which is exact. A set type must hold every value of the
    inferred one, or the export says which setting breaks exactness and why. ``reuse_factor`` and
    ``strategy`` override the target's for this layer. ``hls4ml``: other keys of hls4ml's per-layer
    config, passed through (checked against the keys the layer accepts).
    """

    weight: str | None = None
    bias: str | None = None
    accum: str | None = None
    result: str | None = None
    reuse_factor: int | None = None  # multipliers shared by this many operations
    strategy: Literal["Latency", "Resource"] | None = None  # Latency or Resource (this layer)
    hls4ml: dict[str, Any] = field(default_factory=dict)  # other hls4ml keys of this layer, passed through

    def precisions(self) -> dict[str, str]:
        """``{weight|bias|accum|result: precision string}`` of the set precisions."""
        return {k: getattr(self, k) for k in PRECISIONS if getattr(self, k) is not None}

    def check(self, where: str) -> None:
        for key, text in self.precisions().items():
            parse_precision(text, f"{where}.{key}")
        if self.reuse_factor is not None and self.reuse_factor < 1:
            raise BerthError(f"{where}.reuse_factor = {self.reuse_factor!r} must be >= 1")
        _check_pass_through(self.hls4ml, f"{where}.hls4ml")


@dataclass(frozen=True)
class HlsTarget:
    """Settings hls4ml needs to generate a project, with defaults for a small Zynq board.

    ``part``: FPGA part (default: Zynq-7020 of the PYNQ-Z2). ``clock_period``: ns.
    ``io_type``: ``io_stream`` (compiles far faster for CNNs) or ``io_parallel``.
    ``strategy``: ``Latency`` (weights in registers) or ``Resource`` (weights in memories, stored
    transposed). ``reuse_factor``: multipliers shared by this many operations.
    ``backend``: hls4ml backend (``Vitis`` → ``vitis-run``, ``Vivado`` → ``vivado_hls``).
    ``memory_word_bits``: word width of the weight memory, for the cost estimate's word count.
    ``csim_opt``: g++ optimisation flag for the C-simulation library (compile time vs speed).
    ``layers``: per-layer settings by berth's layer name (``[target.layers.fc1]``), see LayerSettings.
    ``hls4ml``: other keys of hls4ml's model-level config, passed through (e.g. ``BramFactor``).
    """

    part: str = "xc7z020clg400-1"  # FPGA part
    clock_period: float = 10.0  # target clock period in ns
    io_type: Literal["io_stream", "io_parallel"] = "io_stream"  # io_stream (fast to compile) or io_parallel
    strategy: Literal["Latency", "Resource"] = "Latency"  # Latency (weights in registers) or Resource (in memories)
    reuse_factor: int = 1  # multipliers shared by this many operations
    backend: Literal["Vitis", "Vivado"] = "Vitis"  # Vitis (vitis-run) or Vivado (vivado_hls)
    memory_word_bits: int = 32  # weight-memory word width for the cost estimate
    csim_opt: Literal["-O0", "-O1", "-O2", "-O3"] = "-O1"  # g++ optimisation of the C-simulation library
    layers: dict[str, LayerSettings] = field(default_factory=dict)  # per-layer settings by berth layer name
    hls4ml: dict[str, Any] = field(default_factory=dict)  # other hls4ml model-level keys, passed through

    def __post_init__(self) -> None:
        if not self.clock_period > 0:
            raise BerthError(f"target.clock_period = {self.clock_period!r} must be > 0 (ns)")
        if self.reuse_factor < 1:
            raise BerthError(f"target.reuse_factor = {self.reuse_factor!r} must be >= 1")
        if not 1 <= self.memory_word_bits <= 4096:
            raise BerthError(f"target.memory_word_bits = {self.memory_word_bits!r} is outside 1..4096")
        if not self.part.strip():
            raise BerthError("target.part must name an FPGA part, e.g. 'xc7z020clg400-1'")
        for name, settings in self.layers.items():
            if not isinstance(settings, LayerSettings):
                raise BerthError(f"target.layers.{name} must be a table of {', '.join(f.name for f in fields(LayerSettings))}")
            settings.check(f"target.layers.{name}")
        _check_pass_through(self.hls4ml, "target.hls4ml")

    def layer(self, name: str) -> LayerSettings:
        """The settings of berth layer ``name`` (empty when none are given)."""
        return self.layers.get(name, LayerSettings())

    def check_layer_names(self, names: list[str]) -> None:
        """Every per-layer table must name one of the model's quantized layers ``names``."""
        unknown = [n for n in self.layers if n not in names]
        if unknown:
            raise BerthError(f"target.layers: unknown layer {unknown[0]!r}; the model's layers: {', '.join(names)}")
