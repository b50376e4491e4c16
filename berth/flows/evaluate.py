"""``berth eval``'s pipeline: train a small model per scheme, then clean and robust error over
chips at each bit error rate, saved as JSON with the resolved config, seeds, versions and machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from berth.core.config import to_dict
from berth.core.errors import BerthError, check_range


@dataclass(frozen=True)
class EvalConfig:
    """Settings of ``berth eval``."""

    model: str = "lenet"  # registered model name or import path (pkg.module:factory, file.py:Name)
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
        for value in self.p:
            check_range("bit error rate p", value, 0.0, 1.0)
        if self.chips < 1:
            raise BerthError(f"chips = {self.chips} must be >= 1")
        if self.epochs < 0:
            raise BerthError(f"epochs = {self.epochs} must be >= 0")
        if self.seed < 0:
            raise BerthError(f"seed = {self.seed} is not allowed; allowed: integers >= 0")


def evaluate(cfg: EvalConfig, say: Callable[[str], None], store: Path | None = None) -> tuple[list[dict], dict]:
    """One row per (scheme, p): clean error and RErr over ``cfg.chips`` chips (fractions); and the
    identity of the data they were measured on. Each trained model and its chips also go to the
    workspace store (``store`` overrides it), as runs of command ``eval``."""
    from berth.data.datasets import load_dataset
    from berth.models import model_for_data
    from berth.quant.evaluate import robust_error
    from berth.quant.faults import RandomBitErrors
    from berth.quant.inject import check_own_quantizers, own_code_bits
    from berth.quant.scheme import get_scheme
    from berth.train.loop import TrainConfig, train

    from berth.models import import_modules

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
            mine.append({"scheme": scheme, "p": p, "clean_error": res.clean_error, "rerr_mean": res.mean,
                         "rerr_std": res.std, "rerr_worst": res.worst, "rerr": res.rerr.tolist()})
        _record(cfg, scheme, mine, history, train_s, data, store)
        rows += mine
    return rows, data.identity


def _record(cfg: EvalConfig, scheme: str, rows: list[dict], history: list, train_s: float, data,
            store: Path | None) -> None:
    """One scheme's model and its chips as a run of command ``eval`` in the store."""
    from berth.core.store import Store, workspace_store
    from berth.flows.records import record_run, run_id_of

    config = {**to_dict(cfg), "schemes": [scheme], "out": None, "data": data.identity}
    run = {"run_id": run_id_of("eval", config), "command": "eval", "label": scheme, "model": cfg.model,
           "scheme": scheme, "bits": cfg.bits, "method": "qat", "w_max": cfg.w_max or 0.0, "seed": cfg.seed,
           "config": config, "seeds": {"train": cfg.seed, "chips": list(range(cfg.chips))},
           "clean_error": rows[0]["clean_error"] if rows else None, "history": history, "train_s": train_s}
    with Store(workspace_store(store)) as s:
        record_run(s, run, [(r["p"], k, v) for r in rows for k, v in enumerate(r["rerr"])], len(data.y_test))


def save(cfg: EvalConfig, rows: list[dict], data: dict, out: Path) -> Path:
    """Write ``rows`` with the resolved config, the data's identity and provenance to ``out``."""
    from berth.core.files import atomic_write_json
    from berth.core.provenance import provenance

    record = {"config": to_dict(cfg), "data": data,
              "provenance": provenance({"seed": cfg.seed, "chips": cfg.chips}), "results": rows}
    return atomic_write_json(out, record)
