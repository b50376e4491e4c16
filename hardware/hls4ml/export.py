"""``export_project``: a berth model → a compiled, bit-exact hls4ml project directory.

Passes, each one job: save the software model → rebuild and fold norms → module check → QONNX
export with berth's exact weights → Quant-node check → cleanup for hls4ml → convert (real graph and
index probe) → hls-graph check → weight map measured and checked → wrap-mode weight types →
write → compile (g++) → metadata and cost estimate (MACs, bits, and per-layer LUT/FF/DSP/BRAM_18K
from ``estimate``). The directory is built beside ``out`` and
renamed into place at the end, so a failed or refused export leaves no half-written project.
``export_qonnx_project`` runs the same passes from a QONNX file instead of a PyTorch model.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from torch import nn

from berth.core.errors import BerthError
from berth.core.files import atomic_directory, atomic_write_json
from berth.hardware.hls4ml.convert import PROJECT_NAME
from berth.hardware.hls4ml.project import META_DIR
from berth.hardware.hls4ml.target import HlsTarget


def _versions() -> dict[str, str]:
    """Installed versions of the packages the route depends on (recorded in the project)."""
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "brevitas", "hls4ml", "qonnx", "onnx", "onnxruntime")}


def model_shape(model: nn.Module) -> tuple[int, int, int]:
    """(channels, height, width) of the model's input, from its build config."""
    cfg = getattr(model, "berth_config", None)
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise BerthError("model has no berth_config: build it with models.create_model or load a berth checkpoint")
    return int(cfg["in_channels"]), int(cfg["input_size"]), int(cfg["input_size"])


def export_project(model: nn.Module, out: str | Path, target: HlsTarget = HlsTarget(), dataset: str = "digits",
                   data_seed: int = 0, force: bool = False, extra: dict | None = None,
                   data_dir: str | None = None):
    """Export ``model`` to the HLS project ``out`` and compile its C simulation; returns the HlsProject.

    ``dataset``/``data_seed``/``data_dir`` name the inputs ``verify`` and ``inject`` use; ``extra`` is stored in
    the metadata (e.g. how the model was trained). Refuses (BerthError) before conversion when a
    layer cannot run exactly in hls4ml.
    """
    shape = model_shape(model)

    def prepare(tmp: Path) -> tuple[dict, Callable[[], dict]]:
        sw, codes = software_side(model, tmp)
        return codes, lambda: qonnx_graphs(sw, shape, codes, tmp / META_DIR)

    return _export(out, force, prepare, shape, target,
                   {"source": "model", "model_config": model.berth_config, "dataset": dataset,
                    "data_seed": data_seed, "data_dir": data_dir, "extra": extra})


def export_qonnx_project(path: str | Path, out: str | Path, target: HlsTarget = HlsTarget(), dataset: str = "digits",
                         data_seed: int = 0, force: bool = False, extra: dict | None = None,
                         data_dir: str | None = None):
    """Export the QONNX graph in ``path`` (as Brevitas' ``export_qonnx`` writes it) like ``export_project``;
    its software side is qonnx's execution of the graph, kept as ``berth/source.onnx``."""
    from berth.hardware.hls4ml import graph
    from berth.hardware.hls4ml.brevitas_layers import codes_problem
    from berth.hardware.hls4ml.qonnx_in import input_shape, load_qonnx, qonnx_codes
    from berth.hardware.hls4ml.reference import SOURCE_ONNX

    wrapper = load_qonnx(path)
    codes = qonnx_codes(wrapper)
    for layer, qt in codes.items():
        problem = codes_problem(qt)
        if problem:
            raise BerthError(f"cannot export layer {layer!r} of {str(path)!r} exactly: {problem}")
    shape = input_shape(wrapper)

    def prepare(tmp: Path) -> tuple[dict, Callable[[], dict]]:
        graph.set_exact_weights(wrapper, codes)
        wrapper.save(str(tmp / META_DIR / SOURCE_ONNX))
        return codes, lambda: graphs_of(wrapper, codes, tmp / META_DIR)

    config = {"name": str(Path(path).resolve()), "scheme": "qonnx", "bits": max(qt.bits for qt in codes.values())}
    return _export(out, force, prepare, shape, target,
                   {"source": "qonnx", "model_config": config, "dataset": dataset, "data_seed": data_seed,
                    "data_dir": data_dir, "extra": extra})


def _export(out: str | Path, force: bool, prepare: Callable[[Path], tuple[dict, Callable[[], dict]]],
            shape: tuple[int, int, int], target: HlsTarget, fields: dict):
    """The passes after the software side: ``prepare(tmp)`` gives (codes, a function building the graphs)."""
    from berth.hardware.hls4ml import cost
    from berth.hardware.hls4ml.csim_lib import compile_csim
    from berth.hardware.hls4ml.project import HlsProject

    out = Path(out)
    if out.exists() and not force:
        raise BerthError(f"output directory {str(out)!r} exists; choose another or pass --force to replace it")
    timer = _Timer()
    with atomic_directory(out, replace=force) as tmp:
        (tmp / META_DIR / "logs").mkdir(parents=True)
        codes, make_graphs = prepare(tmp)
        target.check_layer_names(list(codes))
        timer.step("prepare")
        graphs = make_graphs()
        timer.step("qonnx")
        hls_model, slots = convert_and_map(graphs, codes, target, tmp)
        timer.step("convert")
        write_project(hls_model, slots, codes, tmp)
        point_config_at(tmp, out)
        timer.step("write")
        compile_csim(tmp, PROJECT_NAME, target.csim_opt, tmp / META_DIR / "logs" / "compile.log")
        timer.step("compile")
        figures = cost.cost_estimate(graphs["channels_first"], codes, target.memory_word_bits)
        atomic_write_json(tmp / META_DIR / "cost.json", with_resources(figures, tmp, target.part, hls_model, slots))
        meta = metadata(hls_model, slots, codes, target, shape, fields)
        atomic_write_json(tmp / META_DIR / "project.json", {**meta, "timings_s": timer.timings})
    return HlsProject.load(out)


class _Timer:
    """Wall seconds per export phase (stored in project.json, shown as progress on stderr)."""

    def __init__(self):
        self.timings, self.clock = {}, time.perf_counter()

    def step(self, name: str) -> None:
        from berth.core.progress import step

        now = time.perf_counter()
        self.timings[name] = round(now - self.clock, 3)
        self.clock = now
        step(f"  {name}: {self.timings[name]:.2f} s")


def software_side(model: nn.Module, root: Path) -> tuple[nn.Module, dict]:
    """Check the model, save it as the project's checkpoint, rebuild + fold it: (software model, codes).

    The check runs on a folded copy before anything is written; the exported model is the one
    rebuilt from the checkpoint, exactly what ``verify``/``inject`` rebuild later.
    """
    from berth.train.checkpoint import save_checkpoint
    from berth.hardware.hls4ml.check import check_modules
    from berth.hardware.hls4ml.fold import fold_batchnorm
    from berth.hardware.hls4ml.project import HlsProject
    from berth.quant.inject import model_codes

    check_modules(fold_batchnorm(copy.deepcopy(model)))
    save_checkpoint(root / META_DIR / "model.pt", model)
    sw = HlsProject(root, {}).software_model()
    return sw, model_codes(sw)


def qonnx_graphs(sw: nn.Module, shape: tuple[int, int, int], codes: dict, meta_dir: Path) -> dict:
    """The exported graph (berth's exact weights, checked) cleaned for hls4ml, its probe twin, and a
    channels-first copy for the cost estimate; the converted graph is saved as ``model.onnx``."""
    from berth.hardware.hls4ml import graph

    raw = graph.export_onnx(sw, shape, meta_dir / "export.onnx")
    (meta_dir / "export.onnx").unlink()
    return graphs_of(raw, codes, meta_dir)


def graphs_of(raw, codes: dict, meta_dir: Path) -> dict:
    """``qonnx_graphs`` of a QONNX graph already at hand (``raw``; its weights are set to ``codes``)."""
    from berth.hardware.hls4ml import check, graph, offset

    graph.set_exact_weights(raw, codes)
    offset.decode_quant_nodes(raw, codes)  # offset codes: the Quant node keeps (code - zero point) * step
    check.check_quant_nodes(raw)
    offsets = graph.probe_offsets(codes)
    clean = graph.clean_for_hls(raw)
    clean.save(str(meta_dir / "model.onnx"))
    return {"clean": clean, "probe": graph.clean_for_hls(graph.probe_copy(raw, codes, offsets)),
            "offsets": offsets, "channels_first": graph.cleaned(raw)}


def convert_and_map(graphs: dict, codes: dict, target: HlsTarget, root: Path):
    """hls4ml models of the real graph and the probe → (real model with the layers' own settings and
    wrap-mode weights, weight map). With per-layer settings, a first probe conversion names the
    hls4ml config entry of each berth layer."""
    from berth.hardware.hls4ml import check, convert, layers, weightmap

    log = root / META_DIR / "logs" / "convert.log"
    probe_dir = root / "probe-unused"
    keys: dict[str, str] = {}
    if target.layers:
        named = convert.convert(graphs["probe"], target, probe_dir, log)
        owners = layers.hls_layers(named, weightmap.find_slots(named, graphs["offsets"]))
        keys = {k: v for k, v in layers.config_keys(owners, [n.name for n in graphs["clean"].graph.node]).items()
                if k in target.layers}
    hls_model = convert.convert(graphs["clean"], target, root, log, keys)
    check.check_hls_layers(hls_model)
    probe_hls = convert.convert(graphs["probe"], target, probe_dir, log, keys)
    slots = weightmap.find_slots(probe_hls, graphs["offsets"])
    weightmap.check_slots(hls_model, slots, codes)
    owners = layers.hls_layers(hls_model, slots)
    layers.check_settings(owners, target)
    layers.apply_precisions(owners, target)
    convert.wrap_weight_types(hls_model, [s.var for s in slots.values()])
    return hls_model, slots


def write_project(hls_model, slots: dict, codes: dict, root: Path) -> None:
    """hls4ml's files, then the weight files in berth's exact-decimal format (offset codes as codes,
    with their decode-on-read type) and the weight map."""
    from berth.hardware.hls4ml import convert, offset, weightmap

    convert.write(hls_model, root / META_DIR / "logs" / "convert.log")
    for slot in slots.values():  # the same writer inject uses
        weightmap.write_slot(root / "firmware" / "weights", slot, codes[slot.layer])
    offset.code_types(root / "firmware", slots, codes)  # offset codes stored as codes, decoded on read
    weightmap.save_slots(root / META_DIR / "weightmap.npz", slots, codes)


def point_config_at(root: Path, final: Path) -> None:
    """hls4ml's ``hls4ml_config.yml`` records the build directory: make it the project's final path."""
    from berth.core.files import atomic_write_text

    config = root / "hls4ml_config.yml"
    text = re.sub(r"^OutputDir: .*$", f"OutputDir: {final.resolve()}", config.read_text(), count=1, flags=re.M)
    atomic_write_text(config, text)


def with_resources(figures: dict, root: Path, part: str, hls_model, slots: dict) -> dict:
    """The cost figures plus the tool-free LUT/FF/DSP/BRAM_18K estimate of each weight layer
    (``per_layer[layer]["resources"]``) and their sum (``resources``), from the written project."""
    from berth.hardware.hls4ml.estimate import RESOURCES, estimate_project
    from berth.hardware.hls4ml.layers import hls_layers

    by_index = {layer.index: name for name, layer in hls_layers(hls_model, slots).items()}
    per_layer = {name: dict(v) for name, v in figures["per_layer"].items()}
    for entry in estimate_project(root, part).values():
        per_layer.setdefault(by_index.get(entry["layer"], f"hls4ml layer {entry['layer']}"), {})["resources"] = entry["estimate"]
    total = {r: sum(v["resources"][r] for v in per_layer.values() if "resources" in v) for r in RESOURCES}
    return {**figures, "per_layer": per_layer, "resources": total}


def metadata(hls_model, slots: dict, codes: dict, target: HlsTarget, shape: tuple[int, int, int], fields: dict) -> dict:
    """What ``berth/project.json`` records: the source (``model`` or ``qonnx``), target, model config,
    data, shapes, layer map, the resolved per-layer hls4ml settings, versions."""
    from berth.hardware.hls4ml.layers import hls_layers, resolved

    data_dir = fields["data_dir"]
    return {
        "project_id": uuid.uuid4().hex[:12],
        "top": PROJECT_NAME,
        "source": fields["source"],
        "target": asdict(target),
        "model_config": fields["model_config"],
        "dataset": fields["dataset"],
        "data_seed": fields["data_seed"],
        "data_dir": str(Path(data_dir).expanduser().resolve()) if data_dir else None,
        "input_shape": list(shape),
        "n_out": int(hls_model.get_output_variables()[0].size()),
        "layers": {s.layer: {"var": s.var, "weights": int(s.perm.size), "bits": codes[s.layer].bits,
                             "scale": codes[s.layer].scale} for s in slots.values()},
        "hls_layers": [f"{layer.name}:{layer.class_name}" for layer in hls_model.get_layers()],
        "hls_layer_index": {str(layer.index): layer.name for layer in hls_model.get_layers()},
        "layer_config": resolved(hls_layers(hls_model, slots)),
        "versions": _versions(),
        "extra": fields["extra"] or {},
    }
