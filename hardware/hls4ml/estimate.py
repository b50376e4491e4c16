"""Per-layer LUT, FF, DSP and BRAM_18K of an hls4ml project without the vendor tool.

Every weight layer of hls4ml (dense, a convolution's per-pixel kernel, a pointwise convolution)
is a dense kernel of ``n_in × n_out`` multiply-accumulates (MACs) computed by ``m = ceil(MACs /
reuse)`` multipliers. The model is FINN-style: each resource is a sum of hardware structures, each
structure counted from the layer's sizes and widths and weighted by a coefficient fitted to real
reports (``TERMS`` names them):

- products: with the Latency strategy the weights are constants in the logic, so a zero weight
  costs nothing and each nonzero weight is its own product (``macs - n_zeros``; with ``reuse > 1``
  they share ``m - n_zeros // reuse`` multipliers); with the Resource strategy the weights sit in
  memories and the ``m`` multipliers are shared;
- multipliers: a product on DSP slices takes ``d`` of them (25×18 ports on 7-series, 27×18 on
  UltraScale). A product is built from LUTs instead (about ``w · a`` LUTs each) when its operands
  are narrow: a constant weight times an input when the narrower of the two is under 10 bits, a
  shared (time-multiplexed) multiplier when both are. A constant product with one narrow and one
  wide operand lands on a DSP only now and then (a DSP term of its own);
- accumulators and the adder tree: LUT and FF grow as ``products × sum bits``, the sum no wider
  than the accumulator or a full ``w + a``-bit product;
- operand multiplexers and the registers holding operands: with the Latency strategy and
  ``reuse r > 1`` each shared multiplier selects its operands among ``r`` pairs; LUT and FF grow
  as ``products × (w + a) × (r − 2) / r`` (an empirical form: at ``r = 2`` Vivado HLS adds next to
  none, at 16 and 64 nearly ``w + a`` FF per product);
- weight memories: Resource keeps the weights in ``m``-wide, ``reuse``-deep memories,
  ``BRAM_18K = ceil(m · w / 36)`` when ``reuse > 1`` (Latency keeps them as constants: none);
- stream buffers: a streamed convolution's window of ``kernel × channels × a`` bits adds
  registers (FF) and shift logic (LUT);
- control: a per-layer constant (LUT and FF);
- the tool: Vitis HLS registers more than Vivado HLS for the same layer, an FF term of its own
  (``vitis registers``, counted as ``registers``); ``estimate_project`` takes the tool from the
  project's ``hls4ml_config.yml`` (its ``Backend``).

The coefficients are fitted per regime — ``parallel`` (Latency, reuse 1), ``latency`` (Latency,
reuse > 1), ``resource`` — as the non-negative least-squares fit of the relative error on the real
Vivado HLS and Vitis HLS reports bundled in ``tests/data/csynth`` (see its README for sources,
parts, clocks and tools). FF depends on the clock and the tool most. ``python -m
berth.hardware.hls4ml.estimate tests/data/csynth`` refits and prints the error per layer and
resource, fitted and with each layer left out of the fit, for all layers, for the layers with an
operand under 10 bits and for the Vitis HLS reports. The estimate reads hls4ml's generated
``firmware/parameters.h``, ``defines.h`` and ``myproject.cpp``, so it works on any hls4ml project.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from berth.core.errors import BerthError

RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K")
LUT_MULT_BITS = 10  # operands narrower than this: HLS builds the product from LUTs (see the module doc)
REGIMES = ("parallel", "latency", "resource")
TOOLS = ("Vivado HLS", "Vitis HLS")
TERMS = {"LUT": ("adders", "lut multipliers", "operand muxes", "window", "control"),
         "FF": ("registers", "vitis registers", "operand muxes", "window", "control"),
         "DSP": ("dsp products", "mixed products"), "BRAM_18K": ("weight memory",)}
# {regime: {resource: {term: coefficient}}}: ``fit`` on the reports in tests/data/csynth (terms left out: 0)
COEFFICIENTS: dict[str, dict[str, dict[str, float]]] = {
    "parallel": {
        "LUT": {"adders": 1.586, "lut multipliers": 0.05739, "window": 1.991, "control": 53.48},
        "FF": {"registers": 0.1756, "vitis registers": 0.1478, "window": 1.968, "control": 11.29},
        "DSP": {"dsp products": 0.7333, "mixed products": 0.07377},
        "BRAM_18K": {},
    },
    "latency": {
        "LUT": {"adders": 1.238, "operand muxes": 0.5301, "window": 0.1221, "control": 320.4},
        "FF": {"registers": 0.08997, "operand muxes": 0.9345, "window": 31.81, "control": 42.34},
        "DSP": {"dsp products": 0.8093},
        "BRAM_18K": {},
    },
    "resource": {
        "LUT": {"adders": 1.439, "window": 0.2808, "control": 961.1},
        "FF": {"registers": 10.76, "window": 1.561, "control": 472.2},
        "DSP": {"dsp products": 0.7569},
        "BRAM_18K": {"weight memory": 0.9571},
    },
}


@dataclass(frozen=True)
class Kernel:
    """One weight layer as hls4ml computes it: a dense kernel, per output pixel for a convolution."""

    config: str          # hls4ml's config struct of the kernel, e.g. "config2_mult", "config13"
    layer: int           # hls4ml's layer index
    n_in: int
    n_out: int
    reuse_factor: int
    strategy: str        # "latency" or "resource"
    weight_bits: int
    input_bits: int
    accum_bits: int
    window_bits: int     # a streamed convolution's window (kernel × channels × input bits); 0 otherwise
    zeros: int = 0       # weights that are zero (hls4ml's n_zeros)

    @property
    def regime(self) -> str:
        """``parallel`` (Latency, reuse 1: every product its own multiplier), ``latency`` (Latency,
        time-multiplexed) or ``resource``."""
        if self.strategy == "resource":
            return "resource"
        return "parallel" if self.reuse_factor == 1 else "latency"

    @property
    def macs(self) -> int:
        return self.n_in * self.n_out

    @property
    def multipliers(self) -> int:
        """Multipliers HLS instantiates: ``ceil(MACs / reuse)``, less the zero weights' share with Latency."""
        if self.strategy == "resource":
            return math.ceil(self.macs / self.reuse_factor)
        return max(math.ceil(self.macs / self.reuse_factor) - self.zeros // self.reuse_factor, 0)

    @property
    def products(self) -> int:
        """Products in the logic: each nonzero constant weight with Latency, each multiplier with Resource."""
        return self.macs - self.zeros if self.strategy == "latency" else self.multipliers

    @property
    def narrow(self) -> bool:
        """Whether an operand is under ``LUT_MULT_BITS`` bits (the LUT-multiplier regime)."""
        return min(self.weight_bits, self.input_bits) < LUT_MULT_BITS


# -- reading an hls4ml project ---------------------------------------------------------------------

_STRUCT = re.compile(r"struct\s+(\w+)\s*:\s*nnet::(\w+)\s*\{(.*?)\n\};", re.S)
_FIELD = re.compile(r"static const (?:unsigned|int|bool)\s+(\w+)\s*=\s*([^;]+);")
_TYPEDEF = re.compile(r"typedef\s+(.+?)\s+(\w+)\s*;")
_FIXED = re.compile(r"ap_u?(?:fixed|int)<\s*(\d+)")


def _defines(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(``#define`` macros, typedefs) of hls4ml's defines.h."""
    macros = dict(re.findall(r"#define\s+(\w+)\s+(.+)", text))
    return macros, {name: value for value, name in _TYPEDEF.findall(text)}


def _value(expr: str, macros: dict[str, str]) -> int:
    """An integer field such as ``N_INPUT_1_1`` or ``OUT_HEIGHT_4*OUT_WIDTH_4*N_FILT_4``."""
    for _ in range(8):
        expr = re.sub(r"[A-Za-z_]\w*", lambda m: f"({macros[m.group(0)]})" if m.group(0) in macros else m.group(0), expr)
    if not re.fullmatch(r"[\d\s()*+/-]+", expr):
        raise BerthError(f"cannot evaluate hls4ml parameter {expr!r}")
    return int(eval(expr, {"__builtins__": {}}))  # digits and operators only (checked above)


def _bits(type_name: str, typedefs: dict[str, str]) -> int:
    """Bit width of a type: ``ap_fixed<16,6>``, a typedef of one, or an ``nnet::array`` of one."""
    seen = 0
    while type_name in typedefs and seen < 16:
        type_name, seen = typedefs[type_name], seen + 1
    m = _FIXED.search(type_name)
    if not m:
        raise BerthError(f"cannot read a fixed-point width from type {type_name!r}")
    return int(m.group(1))


def _input_types(cpp: str) -> dict[int, str]:
    """``{layer index: its input type}`` from the layer calls in myproject.cpp."""
    out = {}
    for args in re.findall(r"nnet::\w+<([^;]*?)>\s*\(", cpp):
        parts = [p.strip() for p in args.split(",")]
        index = [int(m.group(1)) for p in parts if (m := re.fullmatch(r"\w*?config(\d+)", p))]
        if index:
            out[index[-1]] = parts[0]
    return out


def read_kernels(firmware: str | Path) -> dict[str, Kernel]:
    """Every dense kernel of an hls4ml project's ``firmware`` folder, by config struct name.

    Depthwise kernels are left out (their ``n_in × n_out`` is not their work)."""
    firmware = Path(firmware)
    try:
        params = (firmware / "parameters.h").read_text()
        macros, typedefs = _defines((firmware / "defines.h").read_text())
        cpp = (firmware / "myproject.cpp").read_text()
    except OSError as exc:
        raise BerthError(f"cannot read hls4ml firmware in {str(firmware)!r}: {exc}") from None
    structs = {name: (kind, dict(_FIELD.findall(body)), {n: t for t, n in _TYPEDEF.findall(body)})
               for name, kind, body in _STRUCT.findall(params)}
    inputs = _input_types(cpp)
    kernels = {}
    for name, (kind, fields, types) in structs.items():
        if kind != "dense_config" or "depthwise" in name:
            continue
        index = int(re.match(r"\w*?config(\d+)", name).group(1))
        outer = structs.get(name.removesuffix("_mult"), (None, {}, {})) if name.endswith("_mult") else (None, {}, {})
        window = 0
        in_bits = _bits(inputs[index], typedefs) if index in inputs else _bits(types["accum_t"], typedefs)
        if outer[0] in ("conv2d_config", "conv1d_config"):
            f = outer[1]
            window = (_value(f.get("filt_height", "1"), macros) * _value(f["filt_width"], macros)
                      * _value(f["n_chan"], macros) * in_bits)
        kernels[name] = Kernel(
            config=name, layer=index, n_in=_value(fields["n_in"], macros), n_out=_value(fields["n_out"], macros),
            reuse_factor=_value(fields.get("reuse_factor", "1"), macros),
            strategy="resource" if "resource" in fields.get("strategy", "latency") else "latency",
            weight_bits=_bits(types["weight_t"], typedefs), input_bits=in_bits,
            accum_bits=_bits(types["accum_t"], typedefs), window_bits=window,
            zeros=_value(fields.get("n_zeros", "0"), macros))
    return kernels


# -- the model -------------------------------------------------------------------------------------

def dsp_per_product(w: int, a: int, part: str) -> int:
    """DSP slices of one ``w × a``-bit product on a DSP of ``part``."""
    wide = 25 if part.lower().startswith("xc7") else 27
    big, small = max(w, a), min(w, a)
    return math.ceil(big / wide) * math.ceil(small / 18)


def terms(k: Kernel, part: str, tool: str = TOOLS[0]) -> dict[str, dict[str, float]]:
    """The uncalibrated structures (``TERMS``) of each resource for kernel ``k`` on ``part``, synthesized by
    ``tool`` (one of ``TOOLS``)."""
    if tool not in TOOLS:
        raise BerthError(f"unknown HLS tool {tool!r}; known: {', '.join(TOOLS)}")
    w, a = k.weight_bits, k.input_bits
    if k.regime == "parallel":  # constant weights: the narrower operand decides
        on_dsp = k.products if min(w, a) >= LUT_MULT_BITS else 0
        mixed = k.products if min(w, a) < LUT_MULT_BITS <= max(w, a) else 0
        on_luts = k.products - on_dsp
    else:  # shared multipliers: both operands variable
        on_dsp = k.multipliers if max(w, a) >= LUT_MULT_BITS else 0
        mixed, on_luts = 0, k.multipliers - on_dsp
    memory = math.ceil(k.multipliers * w / 36) if k.strategy == "resource" and k.reuse_factor > 1 else 0
    adders = k.products * min(k.accum_bits, w + a)  # a sum is no wider than its accumulator or a full product
    muxes = k.products * (w + a) * (k.reuse_factor - 2) / k.reuse_factor if k.regime == "latency" else 0
    return {"LUT": {"adders": adders, "lut multipliers": on_luts * w * a, "operand muxes": muxes,
                    "window": k.window_bits, "control": 1},
            "FF": {"registers": adders, "vitis registers": adders if tool == "Vitis HLS" else 0, "operand muxes": muxes,
                   "window": k.window_bits, "control": 1},
            "DSP": {"dsp products": on_dsp * dsp_per_product(w, a, part), "mixed products": mixed},
            "BRAM_18K": {"weight memory": memory}}


def estimate(k: Kernel, part: str, coefficients: dict | None = None, tool: str = TOOLS[0]) -> dict[str, int]:
    """LUT, FF, DSP and BRAM_18K of kernel ``k`` on ``part`` by ``tool``: the coefficient-weighted sum of
    its structures."""
    coef = (coefficients or COEFFICIENTS)[k.regime]
    return {r: int(round(sum(coef[r].get(name, 0.0) * value for name, value in t.items())))
            for r, t in terms(k, part, tool).items()}


def project_tool(root: str | Path) -> str:
    """The HLS tool of an hls4ml project: Vitis HLS when its ``hls4ml_config.yml`` names the Vitis
    backend, else Vivado HLS."""
    config = Path(root) / "hls4ml_config.yml"
    text = config.read_text() if config.is_file() else ""
    return "Vitis HLS" if re.search(r"^Backend:\s*Vitis\b", text, re.M) else "Vivado HLS"


def estimate_project(root: str | Path, part: str) -> dict[str, dict]:
    """``{config: {"layer", "kernel", "estimate"}}`` for every weight layer of an hls4ml project."""
    tool = project_tool(root)
    return {name: {"layer": k.layer, "kernel": asdict(k), "estimate": estimate(k, part, tool=tool)}
            for name, k in read_kernels(Path(root) / "firmware").items()}


# -- calibration against real reports --------------------------------------------------------------

class Pair(NamedTuple):
    """One weight layer of a real project: its kernel and what the tool reported for it."""

    project: str
    kernel: Kernel
    reported: dict          # resources of the layer's module report
    part: str
    tool: str               # "Vivado HLS" or "Vitis HLS"


def _config_of(module: str, kernels: dict[str, Kernel]) -> str | None:
    """The kernel a module name implements: ``..._config13_s`` → config13, ``conv_..._config2_s`` →
    config2_mult, ``pointwise_..._config6_pointwise_s`` → config6_pointwise_mult."""
    m = re.search(r"config(\d+)(_pointwise)?", module)
    if m is None:
        return None
    name = f"config{m.group(1)}{m.group(2) or ''}"
    return f"{name}_mult" if f"{name}_mult" in kernels else name


def report_pairs(folder: str | Path) -> list[Pair]:
    """A ``Pair`` for every weight layer that ``folder``'s reports cover.

    The folder holds the project's parameters.h, defines.h and myproject.cpp beside its reports
    (per-module ``*_csynth.xml`` files, or a Vitis HLS ``csynth.xml`` that lists every module). A
    module is matched to its kernel by the config index in its name, or by ``modules.json``
    (``{module: config struct}``) where the tool dropped the index from the name. Where several
    modules implement one kernel (Vitis HLS: the layer's stream wrapper, its window buffer and the
    dense kernel inside), the layer is the outermost, i.e. the one with the most LUTs, as a
    module's estimate includes the modules it calls."""
    from berth.hardware.vitis_report import module_reports

    folder = Path(folder)
    kernels = read_kernels(folder)
    named = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").is_file() else {}
    layers: dict[str, dict] = {}
    for module, report in module_reports(folder, "myproject").items():
        config = named.get(module) or _config_of(module, kernels)
        if config in kernels and (config not in layers or
                                  (report["resources"]["LUT"] or 0) > (layers[config]["resources"]["LUT"] or 0)):
            layers[config] = report
    return [Pair(folder.name, kernels[c], r["resources"], r["part"], r["tool"]) for c, r in sorted(layers.items())]


def _nonnegative_fit(table: list[list[float]], y: list[float]) -> list[float]:
    """Coefficients ``c ≥ 0`` minimising ``Σ((table·c − y) / y)²`` with at most one nonzero coefficient
    per two reports (at least one), so that a fit never just interpolates its reports: the best
    least-squares fit over every admissible subset of terms whose coefficients all come out
    non-negative (exact non-negative least squares for these few terms)."""
    import numpy as np

    a = np.asarray(table, dtype=float) / np.asarray(y, dtype=float)[:, None]
    used = [j for j in range(a.shape[1]) if a[:, j].any()]
    best, coef = math.inf, [0.0] * a.shape[1]
    for size in range(1, min(len(used), max(1, len(y) // 2)) + 1):
        for subset in itertools.combinations(used, size):
            c = np.linalg.lstsq(a[:, subset], np.ones(len(y)), rcond=None)[0]
            residual = float(np.sum((a[:, subset] @ c - 1) ** 2))
            if (c >= 0).all() and residual < best - 1e-12:
                best, coef = residual, [0.0] * a.shape[1]
                for j, value in zip(subset, c):
                    coef[j] = float(value)
    return coef


def fit(pairs: list[Pair]) -> dict[str, dict[str, dict[str, float]]]:
    """Per regime and resource, the term coefficients (4 significant digits, zeros left out) that
    best fit the reports with a nonzero figure; a regime without reports gets none."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for regime in REGIMES:
        out[regime] = {}
        for r in RESOURCES:
            rows = [(terms(p.kernel, p.part, p.tool)[r], p.reported[r]) for p in pairs
                    if p.kernel.regime == regime and p.reported.get(r)]
            coef = _nonnegative_fit([[t[n] for n in TERMS[r]] for t, _ in rows], [y for _, y in rows]) if rows else []
            out[regime][r] = {n: float(f"{c:.4g}") for n, c in zip(TERMS[r], coef) if c > 0}
    return out


def relative_errors(pairs: list[Pair], coefficients: dict | None = None) -> dict[str, list[float]]:
    """Per resource, |estimate − report| / report over the layers whose report is nonzero."""
    out: dict[str, list[float]] = {r: [] for r in RESOURCES}
    for p in pairs:
        est = estimate(p.kernel, p.part, coefficients, p.tool)
        for r in RESOURCES:
            if p.reported.get(r):
                out[r].append(abs(est[r] - p.reported[r]) / p.reported[r])
    return out


def left_out_errors(pairs: list[Pair]) -> list[dict[str, list[float]]]:
    """Per layer, ``relative_errors`` of that layer when the coefficients are fitted without it."""
    return [relative_errors([pair], fit(pairs[:i] + pairs[i + 1:])) for i, pair in enumerate(pairs)]


GROUPS = {"all layers": lambda p: True, "an operand under 10 bits": lambda p: p.kernel.narrow,
          "Vitis HLS": lambda p: p.tool == "Vitis HLS"}


def error_summary(pairs: list[Pair], coefficients: dict | None = None) -> dict[str, dict[str, dict]]:
    """``{group: {resource: {"n", "fitted": (median, worst), "left_out": (median, worst)}}}`` of the
    relative errors, for every group of ``GROUPS`` (layers whose report is zero are not counted)."""
    coefficients = coefficients or fit(pairs)
    left_out = left_out_errors(pairs)
    out: dict[str, dict[str, dict]] = {}
    for group, member in GROUPS.items():
        chosen = [i for i, p in enumerate(pairs) if member(p)]
        fitted = relative_errors([pairs[i] for i in chosen], coefficients)
        out[group] = {}
        for r in RESOURCES:
            loo = [e for i in chosen for e in left_out[i][r]]
            if fitted[r]:
                out[group][r] = {"n": len(fitted[r]), "fitted": (statistics.median(fitted[r]), max(fitted[r])),
                                 "left_out": (statistics.median(loo), max(loo))}
    return out


def main(argv: list[str] | None = None) -> int:
    """Fit the coefficients on report folders and print the error per layer and resource."""
    import sys

    folders = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    folders = [f for d in folders for f in ([d] if (d / "parameters.h").is_file() else sorted(d.iterdir()))
               if (f / "parameters.h").is_file()]
    pairs = [p for f in folders for p in report_pairs(f)]
    coef = fit(pairs)
    print("coefficients:", json.dumps(coef))
    for p in pairs:
        k, est = p.kernel, estimate(p.kernel, p.part, coef, p.tool)
        print(f"{p.project:<27} {k.config:<23} {k.regime:<8} RF {k.reuse_factor:<3} w{k.weight_bits:<2} "
              f"a{k.input_bits:<2} " + "  ".join(f"{r} {est[r]}/{p.reported[r]}" for r in RESOURCES))
    for group, by_resource in error_summary(pairs, coef).items():
        print(f"-- {group}: estimate vs report, relative error")
        for r, e in by_resource.items():
            print(f"{r:<9} n {e['n']:>2}  fitted: median {100 * e['fitted'][0]:5.1f}%  worst "
                  f"{100 * e['fitted'][1]:6.1f}%"
                  f"   each layer left out of the fit: median {100 * e['left_out'][0]:5.1f}%  worst "
                  f"{100 * e['left_out'][1]:6.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
