"""Per-layer settings on the converted hls4ml model, each berth layer found by its weights.

A berth layer (``conv1``, ``body.1``) is the hls4ml layer that owns its weight variable (found by
the probe, see ``weightmap``); its hls4ml config entry is the ONNX node that layer was converted
from (``Dense_MatMul_0`` reads ``MatMul_0``). Reuse factor, strategy and pass-through keys go into
that config entry before conversion; precisions are set on the converted layer (a precision in the
config would keep hls4ml from fusing the bias into the layer) after checking that each holds every
value of the type hls4ml inferred from the quantizers — the type berth's exactness rests on.
"""

from __future__ import annotations

from berth.core.errors import BerthError
from berth.hardware.hls4ml.target import PRECISIONS, TYPED_KEYS, FixedType, HlsTarget, parse_precision
from berth.hardware.hls4ml.weightmap import Slot

# what each precision must hold exactly, for the refusal message
HOLDS = {"weight": "every code of the layer's width (bit errors make any of them)",
         "bias": "the layer's bias",
         "accum": "the sum of any stored codes times the layer's inputs",
         "result": "the layer's output before the activation quantizer rounds it"}


def hls_layers(hls_model, slots: dict[str, Slot]) -> dict[str, object]:
    """``{berth layer: the hls4ml layer owning its weight variable}``, in berth's layer order."""
    owner = {v.name: layer for layer in hls_model.get_layers() for v in layer.get_weights()}
    return {name: owner[slot.var] for name, slot in slots.items()}


def config_keys(layers: dict[str, object], node_names: list[str]) -> dict[str, str]:
    """``{berth layer: hls4ml config entry}``: the ONNX node the hls4ml layer was converted from
    (its own name, or the longest node name it ends with after a pass's prefix)."""
    out = {}
    for name, layer in layers.items():
        found = [n for n in node_names if layer.name == n or layer.name.endswith("_" + n)]
        if not found:
            raise BerthError(f"layer {name!r}: no hls4ml config entry for its hls4ml layer {layer.name!r}")
        out[name] = max(found, key=len)
    return out


def _setting(target: HlsTarget, name: str, key: str) -> str:
    """Where a layer's value of ``key`` comes from, as the user wrote it."""
    own = getattr(target.layer(name), key)
    return f"target.layers.{name}.{key} = {own!r}" if own is not None else f"target.{key} = {getattr(target, key)!r}"


def check_settings(layers: dict[str, object], target: HlsTarget) -> None:
    """Pass-through keys the layer accepts; reuse factor and strategy as asked (hls4ml replaces an
    invalid reuse factor by the closest valid one without failing)."""
    from hls4ml.model.attributes import ConfigurableAttribute

    for name, layer in layers.items():
        own = target.layer(name)
        allowed = sorted({a.config_name for a in layer.expected_attributes if isinstance(a, ConfigurableAttribute)}
                         - set(TYPED_KEYS))
        unknown = [k for k in own.hls4ml if k not in allowed]
        if unknown:
            raise BerthError(f"target.layers.{name}.hls4ml: unknown key {unknown[0]!r} for hls4ml's {layer.class_name}; "
                             f"allowed: {', '.join(allowed) or 'none'}")
        reuse = own.reuse_factor or target.reuse_factor
        if layer.get_attr("reuse_factor") != reuse:
            raise BerthError(f"{_setting(target, name, 'reuse_factor')} is not valid for layer {name!r} "
                             f"(hls4ml {layer.class_name} {layer.name}): hls4ml would use {layer.get_attr('reuse_factor')}; "
                             "valid values are listed in berth/logs/convert.log")
        strategy = own.strategy or target.strategy
        if str(layer.get_attr("strategy")).lower() != strategy.lower():
            raise BerthError(f"{_setting(target, name, 'strategy')} was not applied to layer {name!r} "
                             f"(hls4ml {layer.class_name} {layer.name} uses {layer.get_attr('strategy')})")


def _named_type(layer, key: str):
    """The hls4ml NamedType of a layer's weight, bias, accumulator or result."""
    if key in ("weight", "bias"):
        return layer.weights[key].type
    if key == "accum":
        return layer.types["accum_t"]
    return layer.get_output_variable().type


def _shape(precision) -> FixedType:
    return FixedType(int(precision.width), int(precision.integer), bool(precision.signed))


def exactness_problem(setting: str, key: str, wanted: FixedType, inferred: FixedType) -> str | None:
    """Why type ``wanted`` for ``key`` loses values of the exact type ``inferred`` (None when it does not)."""
    if wanted.holds(inferred):
        return None
    if wanted.fraction < inferred.fraction:
        why = f"{wanted.fraction} fractional bits < the {inferred.fraction} needed: values would be rounded"
    else:
        why = f"its range does not cover {inferred}: values would wrap or saturate"
    return f"{setting} breaks exactness: {key} must hold {HOLDS[key]} exactly ({inferred}); {why}"


def apply_precisions(layers: dict[str, object], target: HlsTarget) -> None:
    """Set each layer's own precisions, after checking every one keeps the layer exact."""
    from hls4ml.backends.fpga.fpga_backend import FPGABackend
    from hls4ml.backends.fpga.fpga_types import APTypeConverter

    for name, layer in layers.items():
        for key, text in target.layer(name).precisions().items():
            setting = f"target.layers.{name}.{key} = {text!r}"
            if key == "accum" and "accum_t" not in layer.types:
                raise BerthError(f"{setting}: hls4ml's {layer.class_name} has no accumulator type")
            named = _named_type(layer, key)
            problem = exactness_problem(setting, key, parse_precision(text, setting), _shape(named.precision))
            if problem:
                raise BerthError(problem)
            named.precision = APTypeConverter().convert(FPGABackend.convert_precision_string(text))


def resolved(layers: dict[str, object]) -> dict[str, dict]:
    """The per-layer config the project was generated with (for ``project.json``)."""
    out = {}
    for name, layer in layers.items():
        types = {key: str(_named_type(layer, key).precision) for key in PRECISIONS
                 if key != "accum" or "accum_t" in layer.types}
        out[name] = {"hls_layer": layer.name, "class": layer.class_name, "reuse_factor": layer.get_attr("reuse_factor"),
                     "strategy": str(layer.get_attr("strategy")), **types}
    return out
