"""``berth train``'s pipeline: one quantized model (QAT, RandBET or AdvBET) trained into a run
directory with checkpoints after every epoch, resumable exactly, and checked for robustness at
the end (see the command's help for the files a run directory holds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from berth.core.config import from_dict, to_dict
from berth.core.files import read_json
from berth.core.errors import MAX_CHIPS, BerthError, check_range
from berth.train.config import TrainConfig


# Options a zoo model gets under berth train unless ``arch`` sets them: a small SimpleNet, which
# trains on digits in about a minute. Any other model is built with its own defaults.
CLIPPING = 0.1  # w_max when unset, for berth's schemes: the paper's Clipping recipe
MODEL_DEFAULTS: dict[str, dict[str, list[int] | int | str]] = {"simplenet": {"widths": [8, 16, 32], "groups": 4}}


@dataclass(frozen=True)
class TrainCommandConfig:
    """Settings of ``berth train``: model, data, training and the robustness check at the end."""

    model: str = "simplenet"  # registered model name or import path (pkg.module:factory, file.py:Name)
    modules: list[str] = field(default_factory=list)  # modules registering models (@register_model)
    arch: dict[str, list[int] | int | str] = field(default_factory=dict)  # model options (over MODEL_DEFAULTS)
    scheme: str = "rquant"  # weight quantization scheme (preset)
    bits: int = 8  # weight bits
    w_max: float | None = None  # weight clipping range (unset: 0.1 for berth's schemes, none for a model with its own Brevitas quantizers)
    hw: bool = False  # build for fixed-point hardware (hls export); needs act_bits
    act_bits: int | None = None  # activation bits (unset: float activations)
    dataset: str = "digits"  # digits, mnist, cifar10, npz or images
    data_dir: str | None = None  # where the data set's files are (mnist, cifar10, npz, images)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30))  # training settings (the [train] table)
    p: list[float] = field(default_factory=lambda: [0.001, 0.01])  # bit error rates of the robustness check at the end
    chips: int = 25  # chips per bit error rate of that check (0: no check)
    out: str = "runs"  # folder for the run (a new train-<time> folder inside)

    def __post_init__(self) -> None:
        from berth.models.registry import check_quantization

        for value in self.p:
            check_range("bit error rate p", value, 0.0, 1.0)
        if isinstance(self.chips, bool) or not 0 <= self.chips <= MAX_CHIPS:
            raise BerthError(f"chips = {self.chips!r} is not allowed; allowed: integers 0..{MAX_CHIPS}")
        check_quantization(self.scheme, self.bits, self.w_max, self.act_bits)
        if self.train.epochs < 1:
            raise BerthError(f"train.epochs = {self.train.epochs} is not allowed; allowed: integers >= 1 (a trained "
                             "model is what berth train writes; berth eval --set epochs=0 measures an untrained one)")


def resumed_config(run_dir: Path) -> TrainCommandConfig:
    """The saved settings of a run directory (for ``--resume``)."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise BerthError(f"cannot resume {str(run_dir)!r}: no config.json there (not a berth train run directory)")
    return from_dict(TrainCommandConfig, read_json(path, "run settings"), str(path))


def train_run(cfg: TrainCommandConfig, out: Path, resume: bool, say: Callable[[str], None],
              store: Path | None = None) -> Path:
    """Train into ``out`` (a new directory, or the one being resumed); returns ``results.json``.
    The run and its chips also go to the workspace store (``store`` overrides it) as a run of
    command ``train`` whose model file is the run's checkpoint."""
    from berth.core.files import atomic_write_json
    from berth.core.provenance import provenance
    from berth.data.datasets import load_dataset
    from berth.train.loop import train

    if resume and not (out / "checkpoint.pt").is_file():
        raise BerthError(f"nothing to resume in {str(out)!r}: no checkpoint.pt (the run stopped before its first "
                         "epoch ended); start it afresh with berth train")
    from berth.core.files import check_writable
    from berth.models import import_modules

    check_writable(out.parent, keep=False)  # before any data is read or model built
    import_modules(cfg.modules)
    data = load_dataset(cfg.dataset, seed=cfg.train.seed, data_dir=cfg.data_dir)
    cfg, model, own = _built(cfg, data)
    quantization = _quantization(cfg, own)
    if not resume:
        out.mkdir(parents=True, exist_ok=False)
        atomic_write_json(out / "config.json", to_dict(cfg))
    say(f"training {cfg.model} ({quantization}, w_max={cfg.w_max}) with {cfg.train.method} "
        f"on {cfg.dataset} for {cfg.train.epochs} epochs into {out}")
    start = time.time()
    history = train(model, data, cfg.train, run_dir=out, resume=resume)
    train_s = time.time() - start
    rows = robustness(model, data, cfg, say)
    _record(cfg, own, out, rows, history, train_s, data, store)
    record = {"config": to_dict(cfg), "data": data.identity, "history": history, "robustness": rows,
              "provenance": provenance({"seed": cfg.train.seed, "chips": cfg.chips})}
    return atomic_write_json(out / "results.json", record)


def _built(cfg: TrainCommandConfig, data) -> tuple[TrainCommandConfig, Any, int | None]:
    """(``cfg`` with the w_max the model was built with, the untrained model, its
    ``own_code_bits``). Unset, w_max is the paper's clipping (``CLIPPING``) for berth's schemes and
    none for a model with its own Brevitas quantizers (whose layers berth's recipe was not made
    for; it clips when asked)."""
    from berth.models import model_for_data
    from berth.quant.inject import own_code_bits

    def build(w_max: float | None):
        return model_for_data(cfg.model, data, scheme=cfg.scheme, bits=cfg.bits, w_max=w_max, seed=cfg.train.seed,
                              hw=cfg.hw, act_bits=cfg.act_bits, **{**MODEL_DEFAULTS.get(cfg.model, {}), **cfg.arch})

    w_max = CLIPPING if cfg.w_max is None else cfg.w_max
    model = build(w_max)
    own = own_code_bits(model)
    if cfg.w_max is None and own is not None:
        w_max, model = None, build(None)
    if cfg.hw:  # what berth hls export would refuse for any weights, refused before training
        from berth.hardware.hls4ml.check import check_input_quantizer

        try:
            check_input_quantizer(model)
        except BerthError as exc:
            raise BerthError(f"hw = true: model {cfg.model!r} has no input quantizer (hardware inputs must be on a "
                             "known grid): a model built with spec sets self.input_quant = spec.input_quant() and "
                             "applies it first, as berth's zoo models do") from exc
    return replace(cfg, w_max=w_max), model, own


def _quantization(cfg: TrainCommandConfig, own: int | None) -> str:
    """How the model is quantized, in words (checked: a model with its own Brevitas quantizers,
    ``own`` its code width, is trained at that width)."""
    from berth.quant.inject import check_own_quantizers

    check_own_quantizers(own, cfg.model, cfg.bits, [cfg.scheme])
    return f"{cfg.scheme}, {cfg.bits}-bit" if own is None else f"its own Brevitas quantizers, {own}-bit codes"


def _record(cfg: TrainCommandConfig, own: int | None, out: Path, rows: list[dict], history: list, train_s: float,
            data, store: Path | None) -> None:
    """The run as a row of command ``train`` in the store, with its chips (``own``: the model's
    ``own_code_bits``)."""
    from berth.core.store import Store, workspace_store
    from berth.flows.records import record_run, run_id_of
    from berth.quant.inject import recorded_scheme

    config = {**to_dict(cfg), "out": None, "data": data.identity}
    run = {"run_id": run_id_of("train", config), "command": "train", "label": cfg.train.method, "model": cfg.model,
           "scheme": recorded_scheme(cfg.scheme, own), "bits": cfg.bits, "method": cfg.train.method,
           "w_max": cfg.w_max or 0.0,
           "seed": cfg.train.seed, "config": config, "seeds": {"train": cfg.train.seed, "chips": list(range(cfg.chips))},
           "clean_error": rows[0]["clean_error"] if rows else (history[-1].get("test_error") if history else None),
           "history": history, "checkpoint": str((out / "checkpoint.pt").resolve()), "train_s": train_s}
    with Store(workspace_store(store)) as s:
        record_run(s, run, [(r["p"], k, v) for r in rows for k, v in enumerate(r["rerr"])], len(data.y_test))


def robustness(model, data, cfg: TrainCommandConfig, say: Callable[[str], None]) -> list[dict]:
    """Clean error and RErr over ``cfg.chips`` chips at each p (each also reported through ``say``)."""
    from berth.quant.evaluate import robust_error
    from berth.quant.faults import RandomBitErrors

    rows = []
    for p in cfg.p if cfg.chips else []:
        res = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(p, chip=k) for k in range(cfg.chips)])
        rows.append({"p": p, "clean_error": res.clean_error, "rerr_mean": res.mean, "rerr_std": res.std,
                     "rerr_worst": res.worst, "rerr": res.rerr.tolist()})
        say(f"p = {p * 100:.2f}%: clean error {res.clean_error * 100:.2f}%, RErr {res.mean * 100:.2f} "
            f"± {res.std * 100:.2f}% (worst {res.worst * 100:.2f}%) over {cfg.chips} chips")
    return rows
