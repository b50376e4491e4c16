"""The hls4ml loop as plain functions: a model (a model file, a QONNX file, or a zoo model trained
for hardware now) exported to a bit-exact project, verified against software, bit errors injected, synthesis
reports filed — each result written beside the project and into the workspace's results store
(``--store``, else ``$BERTH_STORE``, else ``runs/berth.sqlite``), where sweeps, eval and train file theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from berth.core.errors import BerthError, check_range
from berth.core.files import atomic_write_json
from berth.core.store import workspace_store
from berth.hardware.hls4ml.project import HlsProject
from berth.hardware.hls4ml.target import HlsTarget

ZOO_DEFAULTS: dict[str, dict[str, Any]] = {"resnet20": {"head": "max"}}


@dataclass(frozen=True)
class ModelSpec:
    """How to build and train a zoo model for hardware when no model file is given."""

    scheme: str = "fixed"  # weight scheme of a zoo model trained for hardware
    bits: int = 8  # weight bits
    act_bits: int = 8  # activation bits
    epochs: int = 10  # training epochs
    seed: int = 0  # seed of initialization and training
    arch: dict[str, Any] = field(default_factory=dict)  # model options


@dataclass(frozen=True)
class HlsExportConfig:
    """Settings of ``berth hls export``."""

    target: HlsTarget = field(default_factory=HlsTarget)  # the hardware target ([target] table)
    model: ModelSpec = field(default_factory=ModelSpec)  # a zoo model trained when no model file is given
    modules: list[str] = field(default_factory=list)  # modules registering models (@register_model)
    dataset: str = "digits"  # data set of training and of verify/inject inputs
    data_dir: str | None = None  # where the data set's files are
    data_seed: int = 0  # seed of the data split


def model_to_export(source: str, cfg: HlsExportConfig, say: Callable[[str], None]) -> tuple[Any, dict]:
    """The model to export and how it was obtained: a model file, or a registered model trained
    now as a hardware build on ``cfg.dataset``."""
    from berth.models import import_modules, is_model, list_models

    import_modules(cfg.modules)
    if Path(source).is_file() and not source.endswith(".py"):
        from berth.models.files import load_model

        return load_model(source), {"checkpoint": str(Path(source).resolve())}
    if not is_model(source):
        raise BerthError(f"{source!r} is neither a model file nor a registered model; models: {', '.join(list_models())}")
    from berth.data.datasets import load_dataset
    from berth.models import model_for_data
    from berth.train.loop import TrainConfig, train

    spec = cfg.model
    data = load_dataset(cfg.dataset, seed=cfg.data_seed, data_dir=cfg.data_dir)
    arch = {**ZOO_DEFAULTS.get(source, {}), **spec.arch}
    model = model_for_data(source, data, scheme=spec.scheme, bits=spec.bits, act_bits=spec.act_bits, hw=True,
                           seed=spec.seed, **arch)
    check_layer_names(model, cfg.target)  # before training
    say(f"training {source} for hardware ({spec.scheme} {spec.bits}-bit weights, {spec.act_bits}-bit activations, "
        f"{spec.epochs} epochs)")
    history = train(model, data, TrainConfig(epochs=spec.epochs, seed=spec.seed))
    return model, {"trained": {"epochs": spec.epochs, "seed": spec.seed, "dataset": cfg.dataset, "history": history}}


def _data_for(cfg: HlsExportConfig):
    """The data set ``verify`` and ``inject`` will feed the project."""
    from berth.data.datasets import load_dataset

    return load_dataset(cfg.dataset, seed=cfg.data_seed, data_dir=cfg.data_dir)


def check_layer_names(model: Any, target: HlsTarget) -> None:
    """The target's per-layer tables must name quantized layers of ``model``."""
    from berth.quant.inject import model_codes

    if target.layers:
        target.check_layer_names(list(model_codes(model)))


def export(source: str, out: Path, cfg: HlsExportConfig, force: bool, store: Path | None,
           say: Callable[[str], None]) -> tuple[HlsProject, dict]:
    """Export ``source`` to a compiled project at ``out``; file its cost estimate; (project, cost)."""
    from berth.core.files import check_writable
    from berth.core.tools import require_tool
    from berth.hardware.hls4ml.export import export_project
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.hardware.hls4ml.results import store_cost

    if out.exists() and not force:  # before any training
        raise BerthError(f"output directory {str(out)!r} exists; choose another or pass --force to replace it")
    require_tool("g++")  # the C simulation is compiled last: a missing compiler is said first
    check_writable(out.parent, keep=False)  # the project's folder is made when it is complete
    t = cfg.target
    where = f"exporting to {out} (part {t.part}, {t.clock_period} ns, {t.io_type}, {t.strategy}, reuse {t.reuse_factor})"
    data = {"dataset": cfg.dataset, "data_seed": cfg.data_seed, "data_dir": cfg.data_dir}
    if is_qonnx_file(source):  # a QONNX graph: its own execution is the software side
        from berth.hardware.hls4ml.export import export_qonnx_project
        from berth.hardware.hls4ml.qonnx_in import input_shape, load_qonnx, output_width

        wrapper = load_qonnx(source)
        _data_for(cfg).check_fits(f"QONNX file {source!r}", input_shape(wrapper), output_width(wrapper))
        say(where)
        path = str(Path(source).resolve())  # the checkpoint: what `berth eval` of the file records
        project = export_qonnx_project(source, out, t, force=force, extra={"qonnx": path, "checkpoint": path},
                                       **data)
    else:
        from berth.hardware.hls4ml.export import model_shape

        model, extra = model_to_export(source, cfg, say)
        _data_for(cfg).check_fits(f"model {source!r}", model_shape(model), model.berth_config.get("num_classes"))
        say(where)
        project = export_project(model, out, t, force=force, extra=extra, **data)
    cost = json.loads((project.berth_dir / "cost.json").read_text())
    store_cost(project, cost, workspace_store(store))
    return project, cost


def verify(project_dir: str | Path, n: int | None = None):
    """The clean C simulation against the software model on ``n`` test inputs (``verify.json``)."""
    from berth.hardware.hls4ml.verify import verify_project

    project = HlsProject.load(project_dir)
    res = verify_project(project, n=n)
    atomic_write_json(project.berth_dir / "verify.json", res.as_dict())
    return project, res


def inject(project_dir: str | Path, p: float, chips: list[int], n: int | None, store: Path | None,
           spec: dict[str, Any] | None = None):
    """Bit errors of ``chips`` at rate ``p`` in the project's weight files vs software: (project,
    results). ``spec`` is an error specification as a sweep writes it (``{"kind": "random" | "stuck_at" | "profiled",
    ...}``, see ``berth.quant.faults.ERROR_KINDS``); random flips when absent. A profiled chip
    ``k`` is the ``k``-th map, at the map's own rate."""
    from berth.hardware.hls4ml.chips import inject_chips
    from berth.hardware.hls4ml.results import store_inject
    from berth.quant.faults import error_model, load_chip_map

    spec = dict(spec or {"kind": "random"})
    check_range("bit error rate p", p, 0.0, 1.0)
    if spec["kind"] == "profiled":
        maps = spec.get("maps") or []
        if not maps:
            raise BerthError("--kind profiled needs --maps (one .npy chip map per chip, chip k the k-th)")
        bad = [k for k in chips if not 0 <= k < len(maps)]
        if bad:
            raise BerthError(f"profiled chip {bad[0]} has no map; allowed: 0..{len(maps) - 1} (one per --maps file)")
        for path in maps:  # every map checked before any simulation
            load_chip_map(path, spec["word_width"], spec["map_kind"])
    project = HlsProject.load(project_dir)
    results = inject_chips(project, p, chips, n=n, errors=lambda rate, chip: error_model(spec, rate, chip))
    store_inject(project, results, workspace_store(store), spec)
    return project, results


def report(path: str | Path, store: Path | None):
    """File a synthesis report (a project, a report folder or a csynth.xml) in the results store."""
    from berth.hardware.hls4ml.synth import report_project

    return report_project(path, workspace_store(store))
