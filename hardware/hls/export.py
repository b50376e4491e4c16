"""``export_project``: a berth model → a compiled, bit-exact hls4ml project directory.

Passes, each one job: save the software model → rebuild and fold norms → module check → QONNX
export with berth's exact weights → Quant-node check → cleanup for hls4ml → convert (real graph and
index probe) → hls-graph check → weight map measured and checked → wrap-mode weight types →
write → compile (g++) → metadata and cost estimate. The directory is built beside ``out`` and
renamed into place at the end, so a failed or refused export leaves no half-written project.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Callable

from torch import nn

from berth.errors import BerthError
from berth.fsutil import atomic_directory, atomic_write_json
from hardware.hls.target import HlsTarget


def _versions() -> dict[str, str]:
    import brevitas
    import hls4ml
    import onnx
    import qonnx
    import torch

    return {"torch": torch.__version__, "brevitas": brevitas.__version__, "hls4ml": hls4ml.__version__,
            "qonnx": qonnx.__version__ if hasattr(qonnx, "__version__") else "unknown", "onnx": onnx.__version__}


def model_shape(model: nn.Module) -> tuple[int, int, int]:
    """(channels, height, width) of the model's input, from its build config."""
    cfg = getattr(model, "berth_config", None)
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise BerthError("model has no berth_config: build it with models.create_model or load a berth checkpoint")
    return int(cfg["in_channels"]), int(cfg["input_size"]), int(cfg["input_size"])


def export_project(model: nn.Module, out: str | Path, target: HlsTarget = HlsTarget(), dataset: str = "digits",
                   data_seed: int = 0, force: bool = False, extra: dict | None = None,
                   log: Callable[[str], None] = lambda s: None):
    """Export ``model`` to the HLS project ``out`` and compile its C simulation; returns the HlsProject.

    ``dataset``/``data_seed`` name the inputs ``verify`` and ``inject`` use; ``extra`` is stored in
    the metadata (e.g. how the model was trained). Refuses (BerthError) before conversion when a
    layer cannot run exactly in hls4ml.
    """
    from berth.checkpoint import save_checkpoint
    from hardware.hls import check, convert, cost, graph, weightmap
    from hardware.hls.csim_lib import compile_csim
    from hardware.hls.fold import fold_batchnorm
    from hardware.hls.project import META_DIR, HlsProject
    from quant.inject import model_codes

    out = Path(out)
    if out.exists() and not force:
        raise BerthError(f"output directory {str(out)!r} exists; choose another or pass --force to replace it")
    shape = model_shape(model)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now
        log(f"  {name}: {timings[name]:.2f} s")

    with atomic_directory(out, replace=force) as tmp:
        meta_dir, logs = tmp / META_DIR, tmp / META_DIR / "logs"
        logs.mkdir(parents=True)
        check.check_modules(fold_batchnorm(copy.deepcopy(model)))  # refuse before anything is written
        save_checkpoint(meta_dir / "model.pt", model)
        sw = HlsProject(tmp, {}).software_model()
        codes = model_codes(sw)
        step("prepare")

        raw = graph.export_onnx(sw, shape, meta_dir / "export.onnx")
        graph.set_exact_weights(raw, codes)
        check.check_quant_nodes(raw)
        offsets = graph.probe_offsets(codes)
        probe = graph.probe_copy(raw, codes, offsets)
        channels_first = graph.cleaned(raw)
        clean = graph.clean_for_hls(raw)
        clean.save(str(meta_dir / "model.onnx"))
        (meta_dir / "export.onnx").unlink()
        step("qonnx")

        hls_model = convert.convert(clean, target, tmp, logs / "convert.log")
        check.check_hls_layers(hls_model)
        probe_hls = convert.convert(graph.clean_for_hls(probe), target, tmp / "probe-unused", logs / "convert.log")
        slots = weightmap.find_slots(probe_hls, offsets)
        weightmap.check_slots(hls_model, slots, codes)
        convert.wrap_weight_types(hls_model, [s.var for s in slots.values()])
        step("convert")

        convert.write(hls_model, logs / "convert.log")
        for slot in slots.values():  # exact decimals in berth's format (what inject writes too)
            weightmap.write_slot(tmp / "firmware" / "weights", slot, codes[slot.layer])
        weightmap.save_slots(meta_dir / "weightmap.npz", slots)
        step("write")

        compile_csim(tmp, convert.PROJECT_NAME, target.csim_opt, logs / "compile.log")
        step("compile")

        estimate = cost.cost_estimate(channels_first, codes, target.memory_word_bits)
        atomic_write_json(meta_dir / "cost.json", estimate)
        n_out = int(hls_model.get_output_variables()[0].size())
        meta = {
            "project_id": uuid.uuid4().hex[:12],
            "top": convert.PROJECT_NAME,
            "target": _target_dict(target),
            "model_config": model.berth_config,
            "dataset": dataset,
            "data_seed": data_seed,
            "input_shape": list(shape),
            "n_out": n_out,
            "layers": {s.layer: {"var": s.var, "weights": int(s.perm.size), "bits": codes[s.layer].bits,
                                 "scale": codes[s.layer].scale} for s in slots.values()},
            "hls_layers": [f"{layer.name}:{layer.class_name}" for layer in hls_model.get_layers()],
            "versions": _versions(),
            "timings_s": timings,
            "extra": extra or {},
        }
        atomic_write_json(meta_dir / "project.json", meta)
    return HlsProject.load(out)


def _target_dict(target: HlsTarget) -> dict:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(target)))
