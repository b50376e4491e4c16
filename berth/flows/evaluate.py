"""``berth eval``'s pipeline: train a small model per scheme, then clean and robust error over
chips at each bit error rate, saved as JSON with the resolved config, seeds, versions and machine.
A QONNX file is measured as it is: its own quantizers fix its codes, qonnx executes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from berth.core.config import to_dict
from berth.core.errors import MAX_CHIPS, BerthError, check_range, check_seed


@dataclass(frozen=True)
class EvalConfig:
    """Settings of ``berth eval``."""

    model: str = "lenet"  # registered name, import path (pkg.module:factory, file.py:Name) or QONNX file (.onnx)
    modules: list[str] = field(default_factory=list)  # modules registering models (@register_model)
    schemes: list[str] = field(default_factory=lambda: ["normal", "rquant"])  # schemes to compare
    bits: int = 8  # weight bits
    w_max: float | None = None  # weight clipping range (unset: none)
    dataset: str = "digits"  # digits, mnist, cifar10, npz or images
    data_dir: str | None = None  # where the data set's files are (mnist, cifar10, npz, images)
    epochs: int = 15  # training epochs per scheme
    p: list[float] = field(default_factory=lambda: [0.001, 0.005, 0.01])  # bit error rates to evaluate
    chips: int = 25  # simulated chips per bit error rate
    seed: int = 0  # seed of data split, initialization and training
    out: str = "runs"  # folder for the results (a new eval-<time> folder inside)

    def __post_init__(self) -> None:
        from berth.models.registry import check_quantization

        for value in self.p:
            check_range("bit error rate p", value, 0.0, 1.0)
        for scheme in self.schemes:
            check_quantization(scheme, self.bits, self.w_max)
        if not 1 <= self.chips <= MAX_CHIPS:
            raise BerthError(f"chips = {self.chips} is not allowed; allowed: integers 1..{MAX_CHIPS}")
        for name in ("schemes", "p"):
            if not getattr(self, name):
                raise BerthError(f"{name} = [] is not allowed; allowed: a non-empty list")
        if self.epochs < 0:
            raise BerthError(f"epochs = {self.epochs} must be >= 0")
        check_seed("seed", self.seed)


def evaluate(cfg: EvalConfig, say: Callable[[str], None], store: Path | None = None,
             given: frozenset[str] = frozenset()) -> tuple[list[dict], dict]:
    """One row per (scheme, p): clean error and RErr over ``cfg.chips`` chips (fractions); and the
    identity of the data they were measured on. Each trained model and its chips also go to the
    workspace store (``store`` overrides it), as runs of command ``eval``. ``given``: the settings
    the user set (file or flags), which a QONNX file refuses where they do not apply."""
    from berth.data.datasets import load_dataset
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.models import import_modules, model_for_data
    from berth.quant.evaluate import robust_error
    from berth.quant.faults import RandomBitErrors
    from berth.quant.inject import check_own_quantizers, own_code_bits, recorded_scheme
    from berth.quant.scheme import get_scheme
    from berth.train.loop import TrainConfig, train

    if is_qonnx_file(cfg.model):
        return evaluate_qonnx(cfg, say, store, given)
    import_modules(cfg.modules)
    for name in cfg.schemes:
        get_scheme(name, bits=cfg.bits, w_max=cfg.w_max)
    data = load_dataset(cfg.dataset, seed=cfg.seed, data_dir=cfg.data_dir)
    rows = []
    for scheme in cfg.schemes:
        model = model_for_data(cfg.model, data, scheme=scheme, bits=cfg.bits, w_max=cfg.w_max, seed=cfg.seed)
        own = own_code_bits(model)
        check_own_quantizers(own, cfg.model, cfg.bits, cfg.schemes)
        how = f"{scheme} {cfg.bits}-bit weights" if own is None else f"its own Brevitas quantizers, {own}-bit codes"
        say(f"training {cfg.model} with {how} ({cfg.epochs} epochs)")
        start = time.time()
        history = train(model, data, TrainConfig(epochs=cfg.epochs, seed=cfg.seed))
        train_s = time.time() - start
        mine = []
        for p in cfg.p:
            chips = [RandomBitErrors(p, chip=k) for k in range(cfg.chips)]
            res = robust_error(model, data.x_test, data.y_test, chips)
            mine.append({"scheme": scheme, "bits": cfg.bits, "p": p, "clean_error": res.clean_error,
                         "rerr_mean": res.mean, "rerr_std": res.std, "rerr_worst": res.worst, "rerr": res.rerr.tolist()})
        config = {**to_dict(cfg), "schemes": [scheme], "out": None, "data": data.identity}
        _record(cfg, config, mine, data, store, {"label": scheme, "scheme": recorded_scheme(scheme, own),
                                                 "bits": cfg.bits, "method": "qat",
                                                 "history": history, "train_s": train_s})
        rows += mine
    return rows, data.identity


def evaluate_qonnx(cfg: EvalConfig, say: Callable[[str], None], store: Path | None,
                   given: frozenset[str] = frozenset()) -> tuple[list[dict], dict]:
    """``evaluate`` of the QONNX graph in ``cfg.model`` as it is: not trained (its own quantizers
    fix its codes), one row per p, chip k's flips in its weight initializers, executed by qonnx.
    The settings that do not apply are refused when given or changed, and the data must fit the
    graph's input, before any evaluation."""
    from berth.core.progress import bar
    from berth.data.datasets import load_dataset
    from berth.hardware.hls4ml.qonnx_in import QonnxReference, input_shape, load_qonnx, output_width, qonnx_identity
    from berth.quant.evaluate import robust_error_of
    from berth.quant.faults import RandomBitErrors

    ref = QonnxReference(load_qonnx(cfg.model))
    bits = max(qt.bits for qt in ref.codes().values())
    _check_qonnx_settings(cfg, bits, given)
    data = load_dataset(cfg.dataset, seed=cfg.seed, data_dir=cfg.data_dir)
    data.check_fits(f"QONNX file {cfg.model!r}", input_shape(ref.wrapper), output_width(ref.wrapper))
    say(f"evaluating {cfg.model} as it is: a QONNX graph with its own {bits}-bit weight codes, executed by qonnx")
    labels_of = ref.labels_of(data.x_test)
    rows = []
    for p in cfg.p:  # one qonnx execution of the test set per chip: a bar per rate
        chips = bar([RandomBitErrors(p, chip=k) for k in range(cfg.chips)], desc=f"p = {p:g}", unit="chip")
        res = robust_error_of(labels_of, data.y_test, ref.codes(), chips)
        rows.append({"scheme": "qonnx", "bits": bits, "p": p, "clean_error": res.clean_error, "rerr_mean": res.mean,
                     "rerr_std": res.std, "rerr_worst": res.worst, "rerr": res.rerr.tolist()})
    path = Path(cfg.model).resolve()
    config = {**to_dict(cfg), "schemes": ["qonnx"], "bits": bits, "epochs": 0, "out": None, "data": data.identity,
              "qonnx": qonnx_identity(path)}
    _record(cfg, config, rows, data, store, {"label": "qonnx", "scheme": "qonnx", "bits": bits, "method": "none",
                                             "checkpoint": str(path), "history": [], "train_s": 0.0,
                                             "seeds": {"data": cfg.seed, "chips": list(range(cfg.chips))}})
    return rows, data.identity


def _check_qonnx_settings(cfg: EvalConfig, bits: int, given: frozenset[str]) -> None:
    """A QONNX file is not trained and keeps its own codes: a training setting given or changed
    from its default, or ``bits`` other than the file's code width, is a one-line BerthError."""
    default = EvalConfig()
    what = f"model {cfg.model!r} is a QONNX file, measured as it is"
    if cfg.bits != bits and ("bits" in given or cfg.bits != default.bits):
        raise BerthError(f"bits = {cfg.bits} is not allowed; allowed: {bits} ({what}, with its own {bits}-bit codes)")
    for name in ("schemes", "w_max", "epochs", "modules"):
        if name in given or getattr(cfg, name) != getattr(default, name):
            raise BerthError(f"{name} = {getattr(cfg, name)!r} is not allowed; allowed: leaving it unset ({what}: "
                             f"{name} does not apply to it)")


def _record(cfg: EvalConfig, config: dict, rows: list[dict], data, store: Path | None, run: dict) -> None:
    """One model and its chips as a run of command ``eval`` in the store: ``config`` is what
    decided its weights and results (its run id), ``run`` the columns that differ by model."""
    from berth.core.store import Store, workspace_store
    from berth.flows.records import record_run, run_id_of

    run = {"run_id": run_id_of("eval", config), "command": "eval", "model": cfg.model, "w_max": cfg.w_max or 0.0,
           "seed": cfg.seed, "config": config, "seeds": {"train": cfg.seed, "chips": list(range(cfg.chips))},
           "clean_error": rows[0]["clean_error"] if rows else None, **run}
    with Store(workspace_store(store)) as s:
        record_run(s, run, [(r["p"], k, v) for r in rows for k, v in enumerate(r["rerr"])], len(data.y_test))


def save(cfg: EvalConfig, rows: list[dict], data: dict, out: Path) -> Path:
    """Write ``rows`` with the resolved config, the data's identity and provenance to ``out``."""
    from berth.core.files import atomic_write_json
    from berth.core.provenance import provenance

    record = {"config": to_dict(cfg), "data": data,
              "provenance": provenance({"seed": cfg.seed, "chips": cfg.chips}), "results": rows}
    return atomic_write_json(out, record)
