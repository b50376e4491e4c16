"""Per-layer LUT, FF, DSP and BRAM_18K of an hls4ml project without the vendor tool.

Every weight layer of hls4ml (dense, a convolution's per-pixel kernel, a pointwise convolution)
is a dense kernel of ``n_in × n_out`` multiply-accumulates computed by ``m = ceil(MACs / reuse)``
multipliers. The model is FINN-style, one term per hardware structure:

- multipliers: ``DSP = k · m · d`` with ``d`` the DSP slices one ``w × a``-bit product takes
  (25×18 ports on 7-series, 27×18 on UltraScale). A product of two operands narrower than 10 bits
  is built from LUTs instead (d = 0, about ``w · a`` LUTs each), as the hls4ml paper (Duarte et
  al., JINST 13 P07027, 2018) observes DSP use vanishing below about 10 bits — an assumption: no
  public report of such a layer was found to calibrate it;
- accumulators: with the Latency strategy the whole ``n_in × n_out`` product array is unrolled
  (``reuse`` times over, selected by multiplexers), so LUT and FF grow as ``MACs × accum bits``;
  with the Resource strategy as ``m × accum bits``;
- weight memories: Resource keeps the weights in ``m``-wide, ``reuse``-deep memories,
  ``BRAM_18K = ceil(m · w / 36)`` when ``reuse > 1`` (Latency keeps them as constants: none);
- stream buffers: a streamed convolution's window of ``kernel × channels × a`` bits adds
  registers (FF) and shift logic (LUT).

Each resource is ``scale · structure + constant`` (the constant: a layer's control logic, LUT and
FF only), per regime — ``parallel`` (Latency, reuse 1), ``latency`` (Latency, reuse > 1),
``resource`` — fitted to minimise the relative error on the real Vivado HLS reports bundled in
``tests/data/csynth`` (see its README for sources). Each regime rests on one project, one part and
one clock (parallel: UltraScale+ at 5 ns; latency: Zynq-7020 at 2.5 ns; resource: Zynq-7020 at 5
ns, 32-bit), so the figures say how well the structure explains those reports, not how far they
carry to other parts, clocks or tool versions; FF depends on the clock most.
``python -m berth.hardware.hls4ml.estimate tests/data/csynth`` refits and prints the error per
layer and resource, fitted and with each layer left out of the fit. The estimate reads hls4ml's
generated ``firmware/parameters.h``, ``defines.h`` and ``myproject.cpp``, so it works on any
hls4ml project.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from berth.core.errors import BerthError

RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K")
LUT_MULT_BITS = 10  # both operands narrower than this: HLS builds the product from LUTs
REGIMES = ("parallel", "latency", "resource")
# (scale, per-layer constant) per regime and resource: ``fit`` on tests/data/csynth, each regime from
# one project (parallel: jet_tagger_mlp; latency: separable_cnn; resource: conv_autoencoder)
COEFFICIENTS: dict[str, dict[str, tuple[float, float]]] = {
    "parallel": {"LUT": (1.5765, 147.7), "FF": (0.1603, 65.9), "DSP": (0.7893, 0.0), "BRAM_18K": (1.0, 0.0)},
    "latency": {"LUT": (1.6155, 892.2), "FF": (1.8143, 1264.6), "DSP": (0.75, 0.0), "BRAM_18K": (1.0, 0.0)},
    "resource": {"LUT": (0.1874, 1272.1), "FF": (0.7287, 3008.9), "DSP": (0.7569, 0.0), "BRAM_18K": (0.9571, 0.0)},
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
        return math.ceil(self.macs / self.reuse_factor)


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
            accum_bits=_bits(types["accum_t"], typedefs), window_bits=window)
    return kernels


# -- the model -------------------------------------------------------------------------------------

def dsp_per_product(w: int, a: int, part: str) -> int:
    """DSP slices of one ``w × a``-bit product on ``part`` (0: built from LUTs)."""
    if max(w, a) < LUT_MULT_BITS:
        return 0
    wide = 25 if part.lower().startswith("xc7") else 27
    big, small = max(w, a), min(w, a)
    return math.ceil(big / wide) * math.ceil(small / 18)


def terms(k: Kernel, part: str) -> dict[str, float]:
    """The uncalibrated structure of each resource for kernel ``k``."""
    width = k.macs if k.strategy == "latency" else k.multipliers
    memory = math.ceil(k.multipliers * k.weight_bits / 36) if k.strategy == "resource" and k.reuse_factor > 1 else 0
    dsp = dsp_per_product(k.weight_bits, k.input_bits, part)
    lut_products = 0 if dsp else width * k.weight_bits * k.input_bits
    return {"LUT": width * k.accum_bits + k.window_bits + lut_products, "FF": width * k.accum_bits + k.window_bits,
            "DSP": k.multipliers * dsp, "BRAM_18K": memory}


def estimate(k: Kernel, part: str, coefficients: dict | None = None) -> dict[str, int]:
    """LUT, FF, DSP and BRAM_18K of kernel ``k`` on ``part``: scale · structure + constant."""
    coef = (coefficients or COEFFICIENTS)[k.regime]
    return {r: int(round(coef[r][0] * t + coef[r][1])) for r, t in terms(k, part).items()}


def estimate_project(root: str | Path, part: str) -> dict[str, dict]:
    """``{config: {"layer", "kernel", "estimate"}}`` for every weight layer of an hls4ml project."""
    return {name: {"layer": k.layer, "kernel": asdict(k), "estimate": estimate(k, part)}
            for name, k in read_kernels(Path(root) / "firmware").items()}


# -- calibration against real reports --------------------------------------------------------------

def _config_of(module: str, kernels: dict[str, Kernel]) -> str | None:
    """The kernel a module name implements: ``..._config13_s`` → config13, ``conv_..._config2_s`` →
    config2_mult, ``pointwise_..._config6_pointwise_s`` → config6_pointwise_mult."""
    m = re.search(r"config(\d+)(_pointwise)?", module)
    if m is None:
        return None
    name = f"config{m.group(1)}{m.group(2) or ''}"
    return f"{name}_mult" if f"{name}_mult" in kernels else name


def report_pairs(folder: str | Path) -> list[tuple[Kernel, dict, str]]:
    """(kernel, reported resources, part) of every ``*_csynth.xml`` in ``folder`` that is a weight layer.

    The folder holds the project's parameters.h, defines.h and myproject.cpp beside the reports; a
    module is matched to its kernel by the config index in its name, or by ``modules.json``
    (``{module: config struct}``) where the tool dropped the index from the name."""
    from berth.hardware.vitis_report import parse_csynth_xml

    folder = Path(folder)
    kernels = read_kernels(folder)
    named = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").is_file() else {}
    pairs = []
    for xml in sorted(folder.glob("*_csynth.xml")):
        module = xml.name[: -len("_csynth.xml")]
        config = named.get(module) or _config_of(module, kernels)
        if config in kernels:
            report = parse_csynth_xml(xml)
            pairs.append((kernels[config], report["resources"], report["part"]))
    return pairs


def fit(pairs: list[tuple[Kernel, dict, str]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per regime and resource, (scale, constant) minimising the squared relative error over the
    reports; the constant (control logic of a layer) only where it comes out positive, LUT and FF only.
    A regime or resource without reports keeps (1, 0)."""
    import numpy as np

    out: dict[str, dict[str, tuple[float, float]]] = {}
    for regime in REGIMES:
        out[regime] = {}
        for r in RESOURCES:
            rows = [(terms(k, part)[r], rep[r]) for k, rep, part in pairs
                    if k.regime == regime and rep.get(r) and terms(k, part)[r] > 0]
            if not rows:
                out[regime][r] = (1.0, 0.0)
                continue
            t, y = np.array(rows, dtype=float).T
            scale, const = np.linalg.lstsq(np.stack([t / y, 1 / y], 1), np.ones_like(y), rcond=None)[0]
            if const < 0 or r not in ("LUT", "FF") or len(rows) < 3:
                scale, const = float(np.sum(t / y) / np.sum((t / y) ** 2)), 0.0
            out[regime][r] = (round(float(scale), 4), round(float(const), 1))
    return out


def relative_errors(pairs: list[tuple[Kernel, dict, str]], coefficients: dict | None = None) -> dict[str, list[float]]:
    """Per resource, |estimate − report| / report over the layers whose report is nonzero."""
    out: dict[str, list[float]] = {r: [] for r in RESOURCES}
    for k, rep, part in pairs:
        est = estimate(k, part, coefficients)
        for r in RESOURCES:
            if rep.get(r):
                out[r].append(abs(est[r] - rep[r]) / rep[r])
    return out


def left_out_errors(pairs: list[tuple[Kernel, dict, str]]) -> dict[str, list[float]]:
    """Per resource, each layer's relative error when the coefficients are fitted without it."""
    out: dict[str, list[float]] = {r: [] for r in RESOURCES}
    for i, pair in enumerate(pairs):
        coef = fit(pairs[:i] + pairs[i + 1:])
        for r, errs in relative_errors([pair], coef).items():
            out[r] += errs
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
    for k, rep, part in pairs:
        est = estimate(k, part, coef)
        print(f"{k.config:<22} {k.strategy:<8} RF {k.reuse_factor:<3} " +
              "  ".join(f"{r} {est[r]}/{rep[r]}" for r in RESOURCES))
    left_out = left_out_errors(pairs)
    for r, errs in relative_errors(pairs, coef).items():
        print(f"{r:<9} n {len(errs):>2}  fitted: median {100 * statistics.median(errs):5.1f}%  worst "
              f"{100 * max(errs):6.1f}%   each layer left out of the fit: median "
              f"{100 * statistics.median(left_out[r]):5.1f}%  worst {100 * max(left_out[r]):6.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
