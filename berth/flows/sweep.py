"""Sweep files: what to train and how to evaluate it, validated in full before any work starts.

A sweep is a TOML file. Runs are the product models x schemes x bits x methods x w_max x seeds,
or, with ``[[variants]]`` (named recipes of scheme, method and w_max), models x variants x bits x
seeds. Every run is evaluated under each ``[[errors]]`` model at every ``p`` on ``chips``
persistent chips (chip k is the same chip for every model and nested across p, the paper's
protocol). A QONNX file in ``models`` is one run, the graph as it is (not trained; label
``qonnx``), evaluated like the others by qonnx's execution. Example::

    name = "mine"
    models = ["lenet"]
    bits = [8, 4]
    seeds = [0]
    p = [0.001, 0.01]
    chips = 50
    train = { epochs = 10 }

    [[variants]]
    name = "clipping"
    scheme = "rquant"
    w_max = 0.1          # 0 = the scheme's own (none, or 1 for normal / rquant)

    [[errors]]
    kind = "random"      # or "stuck_at" (value = 0, 1 or "random"), or "profiled" (maps = [...])
    parameters = "all"   # or "weights" (default): what is stored and corrupted
    addressing = "position"  # or "name" (default): how a chip is identified

Results go to the workspace store (``berth.core.store.workspace_store``); to ``<out>/<name>/``: ``sweep.json`` (the
resolved sweep), ``checkpoints/`` and ``report/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from berth.core.config import file_error, from_dict, merge, parse_override, read_toml, to_dict
from berth.core.errors import MAX_CHIPS, MAX_SEED, BerthError, is_seed

SWEEP_AXES_IN_TRAIN = ("seed", "method")
QONNX_LABEL = "qonnx"  # the label of a QONNX file's run: the graph as it is


@dataclass(frozen=True)
class Variant:
    """A named training recipe: quantization scheme, training method and clipping (0 = the
    scheme's own w_max)."""

    name: str  # the recipe's label in tables and reports
    scheme: str = "rquant"  # quantization preset (berth.quant.scheme.PRESETS)
    method: str = "qat"  # training method: qat, randbet or advbet
    w_max: float = 0.0  # weight clipping to [-w_max, w_max]; 0 = the scheme's own
    train: dict[str, Any] = field(default_factory=dict)  # training settings for this recipe, over the sweep's


@dataclass(frozen=True)
class ErrorSpec:
    """One bit-error model to evaluate under.

    ``random``: i.i.d. flips of persistent chips; ``stuck_at``: stuck cells reading ``value``
    (0, 1 or "random"); ``profiled``: measured chip maps (``.npy``, one chip per file, laid over
    memory as ``word_width``-bit words, ``map_kind`` "prob" or "stuck"); its p is the map's mean
    per-bit error rate. ``parameters``: what is stored and corrupted, layer ``weights`` or
    ``all`` parameters (biases and normalization parameters too); ``addressing`` (random chips):
    a chip keyed by tensor ``name`` or by memory ``position`` (the paper's protocol is all +
    position; see docs/schemes.md).
    """

    kind: str = "random"  # random, stuck_at or profiled
    parameters: str = "weights"  # what is stored and corrupted: layer weights, or all parameters
    addressing: str = "name"  # random chips keyed by tensor name, or by memory position
    name: str = ""  # label in tables (default: the kind)
    value: int | str = "random"  # stuck_at: the value stuck cells read (0, 1 or random)
    maps: list[str] = field(default_factory=list)  # profiled: .npy chip maps, one chip per file
    word_width: int = 32  # profiled: memory word width the maps are laid out in
    map_kind: str = "prob"  # profiled: maps of flip probabilities (prob) or stuck values (stuck)
    seed: int = 0  # profiled: seed of the uniforms compared with a prob map

    @property
    def label(self) -> str:
        return self.name or self.kind


@dataclass(frozen=True)
class Compare:
    """A paired comparison in the report: method ``a`` against ``b`` on the same chips."""

    a: str  # run label of method A
    b: str  # run label of method B (A - B is reported)


@dataclass(frozen=True)
class Sweep:
    """A robustness sweep (see the module docstring)."""

    name: str = "sweep"  # the sweep's name: results go to <out>/<name>
    dataset: str = "digits"  # data set every run trains and is evaluated on
    data_seed: int = 0  # seed of the data split
    data_dir: str = ""  # folder of the data set's files (mnist, cifar10, npz, images), relative to the sweep file
    models: list[str] = field(default_factory=lambda: ["lenet"])  # registered models, import paths or QONNX files
    model_options: dict[str, Any] = field(default_factory=dict)  # keywords for every model
    schemes: list[str] = field(default_factory=lambda: ["rquant"])  # quantization presets (without variants)
    bits: list[int] = field(default_factory=lambda: [8])  # code widths
    methods: list[str] = field(default_factory=lambda: ["qat"])  # training methods (without variants)
    w_max: list[float] = field(default_factory=lambda: [0.0])  # clipping (without variants); 0 = the scheme's own
    seeds: list[int] = field(default_factory=lambda: [0])  # training seeds
    variants: list[Variant] = field(default_factory=list)  # named recipes instead of schemes x methods x w_max
    train: dict[str, Any] = field(default_factory=dict)  # training settings for every run
    p: list[float] = field(default_factory=lambda: [0.001, 0.005, 0.01, 0.025])  # bit error rates
    chips: int = 50  # persistent chips per rate (the same chips for every model)
    errors: list[ErrorSpec] = field(default_factory=lambda: [ErrorSpec()])  # bit-error models to evaluate under
    compare: list[Compare] = field(default_factory=list)  # paired comparisons in the report (default: neighbours)
    out: str = "runs/sweeps"  # results folder


def default_sweep_path() -> Path:
    """The sweep file embedded in the package (digits: normal, rquant, clipping, RandBET)."""
    return Path(str(resources.files("berth") / "sweeps" / "default.toml"))


def load_sweep(path: str | Path | None = None, overrides: list[str] = ()) -> tuple[Sweep, Path]:
    """Read, override and fully validate a sweep file (the embedded default when ``path`` is None)."""
    path = Path(path) if path else default_sweep_path()
    data = read_toml(path)
    try:  # the file's own mistakes name it, and the line
        validate(from_dict(Sweep, data, str(path)), str(path), path.parent)
    except BerthError as exc:
        raise file_error(path, exc) from None
    for text in overrides:  # a bad override names its --set flag
        keys, value = parse_override(text)
        merge(data, keys, value)
        try:
            changed = from_dict(Sweep, data, "")
        except BerthError as exc:
            raise BerthError(f"--set {text}: {exc}") from None
        validate(changed, f"--set {text}", path.parent)
    sweep = from_dict(Sweep, data, str(path))
    return resolve(validate(sweep, str(path), path.parent), str(path)), path


def _beside_sweep(model: str, base: Path) -> str:
    """A hint when a model file named relative to the current folder (where model paths are read
    from) is missing there but lies beside the sweep file."""
    file, _, attr = model.rpartition(":")
    if not file.endswith(".py") or Path(file).is_absolute() or Path(file).exists() or not (base / file).is_file():
        return ""
    return (f" (model paths are relative to the current folder, not to the sweep file; the file beside the "
            f"sweep is '{os.path.relpath(base / file)}:{attr}')")


def _check(ok: bool, where: str, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise BerthError(f"{where}: {key} = {value!r} is not allowed; allowed: {allowed}")


def _train_config(train: dict[str, Any], where: str, key: str):
    """The berth.train.loop.TrainConfig of a ``train`` table (unknown keys and wrong types rejected)."""
    from berth.train.config import TrainConfig

    for axis in SWEEP_AXES_IN_TRAIN:
        _check(axis not in train, where, f"{key}.{axis}", train.get(axis), f"set {axis} with the sweep's "
               f"{'seeds' if axis == 'seed' else 'methods / variants'} key, not in {key}")
    try:
        cfg = from_dict(TrainConfig, train, f"{where}: {key}")
    except BerthError as exc:
        text = str(exc)
        raise BerthError(text if text.startswith(where) else f"{where}: {key}: {text}") from None
    _check(cfg.epochs >= 1, where, f"{key}.epochs", cfg.epochs, "integers >= 1 (a sweep trains every run)")
    return cfg


def available_methods() -> tuple[str, ...]:
    """Training methods of ``berth.train.loop`` (qat, randbet, advbet)."""
    from berth.train.config import METHODS

    return tuple(METHODS)


def validate(s: Sweep, where: str, base: Path) -> Sweep:
    """Check every value; errors name the file, the key and what is allowed."""
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.models import list_models
    from berth.models.imports import is_import_path
    from berth.models.registry import ensure_registered
    from berth.quant.scheme import MAX_BITS, MIN_BITS, PRESETS

    from berth.data.datasets import DATASETS

    _check(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", s.name) is not None, where, "name", s.name,
           "letters, digits, '_', '-' and '.' (a folder name under out, not a path)")
    _check(s.dataset in DATASETS, where, "dataset", s.dataset, ", ".join(DATASETS))
    _check(1 <= s.chips <= MAX_CHIPS, where, "chips", s.chips, f"integers 1..{MAX_CHIPS}")
    for key, seeds in (("seeds", s.seeds), ("data_seed", [s.data_seed])):
        for i, seed in enumerate(seeds):
            _check(is_seed(seed), where, f"{key}[{i}]" if key == "seeds" else key,
                   seed, f"integers 0..{MAX_SEED}")
    for key in ("models", "bits", "seeds", "p", "errors"):
        _check(len(getattr(s, key)) > 0, where, key, getattr(s, key), "a non-empty list")
    for i, m in enumerate(s.models):
        if is_qonnx_file(m):  # checked with the error models, below
            continue
        if is_import_path(m):  # imported now, so a wrong path fails before any worker starts
            try:
                ensure_registered(m)
            except BerthError as exc:
                raise BerthError(f"{where}: models[{i}] = {m!r}: {exc}{_beside_sweep(m, base)}") from None
        _check(m in list_models() or is_import_path(m), where, f"models[{i}]", m,
               ", ".join(list_models()) + " or an import path (pkg.module:factory, path/to/file.py:Name)")
    for i, b in enumerate(s.bits):
        _check(MIN_BITS <= b <= MAX_BITS, where, f"bits[{i}]", b, f"integers {MIN_BITS}..{MAX_BITS}")
    for i, p in enumerate(s.p):
        _check(0.0 <= p <= 1.0, where, f"p[{i}]", p, "bit error rates in [0, 1]")
    methods = available_methods()
    for i, sc in enumerate(s.schemes):
        _check(sc in PRESETS, where, f"schemes[{i}]", sc, ", ".join(PRESETS))
    for i, me in enumerate(s.methods):
        _check(me in methods, where, f"methods[{i}]", me, ", ".join(methods))
    for i, w in enumerate(s.w_max):
        _check(w >= 0, where, f"w_max[{i}]", w, "numbers >= 0 (0 = the scheme's own)")
    for i, v in enumerate(s.variants):
        _check(v.scheme in PRESETS, where, f"variants[{i}].scheme", v.scheme, ", ".join(PRESETS))
        _check(v.method in methods, where, f"variants[{i}].method", v.method, ", ".join(methods))
        _check(v.w_max >= 0, where, f"variants[{i}].w_max", v.w_max, "numbers >= 0 (0 = the scheme's own)")
    _check_schemes(s, where)
    names = [v.name for v in s.variants]
    _check(len(set(names)) == len(names), where, "variants.name", names, "distinct names")
    _train_config(s.train, where, "train")
    for i, v in enumerate(s.variants):
        _train_config({**s.train, **v.train}, where, f"variants[{i}].train")
    errors = [_validate_errors(e, where, f"errors[{i}]", base) for i, e in enumerate(s.errors)]
    labels = [e.label for e in errors]
    _check(len(set(labels)) == len(labels), where, "errors.name", labels, "distinct names per error model")
    s = dataclasses.replace(s, errors=errors, data_dir=_data_dir(s, where, base))
    data = _sweep_data(s, where)
    for i, m in enumerate(s.models):
        if is_qonnx_file(m):
            _check_qonnx(s, data, m, where, f"models[{i}]")
        else:
            _check_model(s, data, m, where)
    return s


def _sweep_data(s: Sweep, where: str):
    """The sweep's data set, read and checked once before any work (workers read it again)."""
    from berth.data.datasets import load_dataset

    try:
        return load_dataset(s.dataset, seed=s.data_seed, data_dir=s.data_dir or None)
    except BerthError as exc:
        raise BerthError(f"{where}: {exc}") from None


def _data_dir(s: Sweep, where: str, base: Path) -> str:
    """The data folder as an absolute path (relative to the sweep file), required by data sets
    read from files."""
    from berth.data.datasets import NEEDS_DIR

    if s.dataset not in NEEDS_DIR:
        _check(not s.data_dir, where, "data_dir", s.data_dir, f"unset for dataset = {s.dataset!r} (it is bundled)")
        return ""
    folder = (base / Path(s.data_dir).expanduser()).resolve() if s.data_dir else None
    is_file = s.dataset == "npz"  # one .npz file; the other data sets are folders
    _check(folder is not None and (folder.is_file() if is_file else folder.is_dir()), where, "data_dir", s.data_dir,
           f"an existing {'.npz file' if is_file else 'folder with the ' + s.dataset + ' files'} "
           "(relative to the sweep file)")
    return str(folder)


def _check_schemes(s: Sweep, where: str) -> None:
    """Every recipe's scheme must allow every bit width of the sweep (the reference's grid keeps
    8-bit words)."""
    from berth.quant.scheme import get_scheme

    for label, scheme, _, w_max, _ in recipes(s):
        for b in s.bits:
            try:
                get_scheme(scheme, bits=b, w_max=w_max or None)
            except BerthError as exc:
                raise BerthError(f"{where}: {label} at {b} bits: {exc}") from None


def _validate_errors(e: ErrorSpec, where: str, key: str, base: Path) -> ErrorSpec:
    """Check one error spec; profiled map paths become absolute (relative to the sweep file)."""
    from berth.quant.faults import ADDRESSING, ERROR_KINDS, load_chip_map
    from berth.quant.inject import PARAMETERS

    _check(e.kind in ERROR_KINDS, where, f"{key}.kind", e.kind, ", ".join(ERROR_KINDS))
    _check(e.parameters in PARAMETERS, where, f"{key}.parameters", e.parameters, ", ".join(PARAMETERS))
    _check(e.addressing in ADDRESSING, where, f"{key}.addressing", e.addressing, ", ".join(ADDRESSING))
    _check(e.kind == "random" or e.addressing == "name", where, f"{key}.addressing", e.addressing,
           "\"name\" unless kind = \"random\" (profiled maps are laid over memory positions already)")
    if e.kind == "stuck_at":
        _check(e.value in (0, 1, "random"), where, f"{key}.value", e.value, "0, 1, \"random\"")
    if e.kind != "profiled":
        _check(not e.maps, where, f"{key}.maps", e.maps, "maps only with kind = \"profiled\"")
        return e
    _check(len(e.maps) > 0, where, f"{key}.maps", e.maps, "a non-empty list of .npy chip maps")
    _check(e.map_kind in ("prob", "stuck"), where, f"{key}.map_kind", e.map_kind, "prob, stuck")
    _check(1 <= e.word_width <= 1024, where, f"{key}.word_width", e.word_width, "integers 1..1024")
    maps = [str((base / m).resolve()) for m in e.maps]
    for m in maps:
        load_chip_map(m, e.word_width, e.map_kind)
    return dataclasses.replace(e, maps=maps)


def _check_qonnx(s: Sweep, data, path: str, where: str, key: str) -> None:
    """A QONNX file reads as a quantized graph that takes the sweep's images (``data``); only its
    weights are stored as codes."""
    from berth.hardware.hls4ml.qonnx_in import input_shape, load_qonnx, output_width

    try:
        wrapper = load_qonnx(path)
        data.check_fits(f"QONNX file {path!r}", input_shape(wrapper), output_width(wrapper))
    except BerthError as exc:
        raise BerthError(f"{where}: {key} = {path!r}: {exc}") from None
    for i, e in enumerate(s.errors):
        _check(e.parameters == "weights", where, f"errors[{i}].parameters", e.parameters,
               f"weights ({key} = {path!r} is a QONNX file: only its weights are stored as codes)")


def _check_model(s: Sweep, data, name: str, where: str) -> None:
    """The model builds with the sweep's options and runs on its images (``data``); one with its
    own Brevitas quantizers is trained at its own code width under one scheme."""
    from berth.models import model_for_data
    from berth.quant.inject import check_own_quantizers, own_code_bits

    try:
        model = model_for_data(name, data, **s.model_options)
    except BerthError as exc:
        options = f" with model_options = {s.model_options!r}" if s.model_options else ""
        raise BerthError(f"{where}: {exc}{options}") from None
    try:
        check_own_quantizers(own_code_bits(model), name, list(s.bits), sorted({scheme for _, scheme, *_ in recipes(s)}))
    except BerthError as exc:
        raise BerthError(f"{where}: {exc}") from None


def resolve(s: Sweep, where: str = "sweep") -> Sweep:
    """Fill in defaults: every run's train table gets all TrainConfig fields; compare pairs."""
    train = to_dict(_train_config(s.train, "", "train"))
    train = {k: v for k, v in train.items() if k not in SWEEP_AXES_IN_TRAIN}
    variants = [dataclasses.replace(v, train={**train, **v.train}) for v in s.variants]
    compare = s.compare
    labels = run_labels(s)
    if not compare:
        compare = [Compare(a, b) for b, a in zip(labels, labels[1:])]
    for c in compare:
        for side in (c.a, c.b):
            _check(side in labels, where, "compare", side, ", ".join(labels))
    return dataclasses.replace(s, train=train, variants=variants, compare=compare)


def recipes(s: Sweep) -> list[tuple[str, str, str, float, dict[str, Any]]]:
    """(label, scheme, method, w_max, train table) of every training recipe, in file order."""
    if s.variants:
        return [(v.name, v.scheme, v.method, v.w_max, {**s.train, **v.train}) for v in s.variants]
    out = []
    for sc in s.schemes:
        for me in s.methods:
            for w in s.w_max:
                label = f"{sc}-{me}" + (f"-w{w:g}" if w else "")
                out.append((label, sc, me, w, dict(s.train)))
    return out


def run_labels(s: Sweep) -> list[str]:
    return [r[0] for r in recipes(s)]


def plan(s: Sweep) -> list[dict[str, Any]]:
    """Every training run of the sweep as a plain config with a stable ``run_id``.

    The id hashes the sweep name and everything that decides the trained weights, the scheme's
    full definition included (a preset whose definition changed is a new run), the content of the
    data's files and of a model's Python file, so a restarted sweep finds its finished runs, and
    a changed setting, data file or model file is a new run.
    """
    from berth.data.own import file_hashes, file_sha256
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.models.imports import source_file
    from berth.quant.scheme import get_scheme

    runs = []
    data = {"dataset": s.dataset, "data_seed": s.data_seed, **({"data_dir": s.data_dir} if s.data_dir else {})}
    if s.data_dir:  # the files' content: data edited in place is new runs, not stored ones
        data["data_files"] = file_hashes(s.data_dir)
    for model in s.models:
        if is_qonnx_file(model):
            runs.append(_with_id(qonnx_run(s.name, model, data)))
            continue
        source = source_file(model)
        code = {"model_sha256": file_sha256(source)} if source is not None and source.is_file() else {}
        for label, scheme, method, w_max, train in recipes(s):
            for bits in s.bits:
                for seed in s.seeds:
                    train_cfg = {**train, "seed": seed, "method": method}
                    definition = get_scheme(scheme, bits=bits, w_max=w_max or None).definition
                    run = {"sweep": s.name, "label": label, "model": model, "model_options": s.model_options,
                           "scheme": scheme, "scheme_definition": definition, "bits": bits, "method": method,
                           "w_max": w_max, "seed": seed, "train": train_cfg, **code, **data}
                    runs.append(_with_id(run))
    return runs


def qonnx_run(sweep: str, model: str, data: dict[str, Any]) -> dict[str, Any]:
    """The one run of a QONNX file in a sweep: the graph as it is (not trained, so no recipes,
    bits or seeds), identified by the file's content; its model file is the file itself."""
    from berth.hardware.hls4ml.qonnx_in import load_qonnx, qonnx_codes, qonnx_identity

    bits = max(qt.bits for qt in qonnx_codes(load_qonnx(model)).values())
    return {"sweep": sweep, "label": QONNX_LABEL, "model": model, "model_options": {}, "scheme": "qonnx", "bits": bits,
            "method": "none", "w_max": 0.0, "seed": 0, "train": {}, "qonnx": qonnx_identity(model), **data}


def _with_id(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with its ``run_id``: a hash of everything in it."""
    digest = hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()
    return {**run, "run_id": digest[:16]}


def error_jobs(s: Sweep) -> list[dict[str, Any]]:
    """The error specs as plain data for eval tasks (profiled maps get their mean rates)."""
    from berth.quant.faults import load_chip_map

    jobs = []
    for e in s.errors:
        spec = {**dataclasses.asdict(e), "label": e.label}
        if e.kind == "profiled":
            rates = []
            for m in e.maps:
                arr = load_chip_map(m, e.word_width, e.map_kind)
                rates.append(float(arr.mean()) if e.map_kind == "prob" else float((arr >= 0).mean()))
            spec["map_rates"] = rates
        jobs.append(spec)
    return jobs


def sweep_dir(s: Sweep) -> Path:
    """Where a sweep's results live: ``<out>/<name>``."""
    return Path(s.out) / s.name
