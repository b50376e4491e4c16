"""hls4ml configuration and conversion for a target; weight types switched to wrap mode.

hls4ml's console chatter goes to the project's ``berth/logs/convert.log``; a conversion error
becomes a one-line BerthError naming the log.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from berth.core.errors import BerthError
from berth.hardware.hls4ml.target import TYPED_KEYS, HlsTarget

PROJECT_NAME = "myproject"


def hls_config(wrapper, target: HlsTarget, keys: dict[str, str] | None = None) -> dict:
    """Per-layer hls4ml config: the target's strategy and reuse factor on every layer, its
    pass-through keys on the model, and each berth layer's own settings on its config entry
    (``keys``: berth layer → hls4ml config name, see ``layers.config_keys``).

    Precisions stay ``auto``: hls4ml infers them from the fixed-point Quant nodes, exactly (a
    layer's own precisions are set on the converted model, see ``layers.apply_precisions``). The
    default precision only types the raw input, which holds the input quantizer's grid (2^-7 steps
    in [0, 2)) exactly; the Quant node after it then passes the values through unchanged.
    """
    import hls4ml

    cfg = hls4ml.utils.config_from_onnx_model(wrapper, granularity="name", backend=target.backend,
                                              default_precision="fixed<16,6>")
    cfg["Model"]["Strategy"] = target.strategy
    cfg["Model"]["ReuseFactor"] = target.reuse_factor
    allowed = [k for k in cfg["Model"] if k not in TYPED_KEYS]
    unknown = [k for k in target.hls4ml if k not in allowed]
    if unknown:
        raise BerthError(f"target.hls4ml: unknown hls4ml model key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    cfg["Model"].update(target.hls4ml)
    for layer in cfg.get("LayerName", {}).values():
        if "ReuseFactor" in layer:
            layer["ReuseFactor"] = target.reuse_factor
        layer["Strategy"] = target.strategy
    for name, key in (keys or {}).items():
        own = target.layer(name)
        entry = cfg["LayerName"][key]
        if own.reuse_factor is not None:
            entry["ReuseFactor"] = own.reuse_factor
        if own.strategy is not None:
            entry["Strategy"] = own.strategy
        entry.update(own.hls4ml)
    return cfg


def convert(wrapper, target: HlsTarget, output_dir: Path, log: Path, keys: dict[str, str] | None = None):
    """``convert_from_onnx_model`` for ``target`` into ``output_dir`` (nothing written yet)."""
    import hls4ml

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f, contextlib.redirect_stdout(f):
        try:
            cfg = hls_config(wrapper, target, keys)
            return hls4ml.converters.convert_from_onnx_model(
                wrapper, output_dir=str(output_dir), project_name=PROJECT_NAME, io_type=target.io_type,
                backend=target.backend, hls_config=cfg, part=target.part, clock_period=target.clock_period)
        except BerthError:
            raise
        except Exception as exc:  # hls4ml raises bare Exception/KeyError/IndexError for unsupported graphs
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise BerthError(f"hls4ml conversion failed ({type(exc).__name__}: {first}); log: {log}") from None


def weight_variables(hls_model) -> dict[str, object]:
    """``{variable name: WeightVariable}`` over all layers (e.g. ``w4`` → ``firmware/weights/w4.txt``)."""
    return {v.name: v for layer in hls_model.get_layers() for v in layer.get_weights()}


def wrap_weight_types(hls_model, names: list[str]) -> None:
    """Switch the named weight types from symmetric saturation to wrap.

    hls4ml gives narrow-range weights ``SAT_SYM``: the most negative code (e.g. -128 after a bit
    flip of -127) would load clamped. With ``WRAP`` every code of the type's width loads as is.
    """
    variables = weight_variables(hls_model)
    for name in names:
        variables[name].type.precision.saturation_mode = "WRAP"


def write(hls_model, log: Path) -> None:
    """Write the HLS project files (C++ sources, weights, scripts) to the model's output dir."""
    with open(log, "a") as f, contextlib.redirect_stdout(f):
        hls_model.write()
