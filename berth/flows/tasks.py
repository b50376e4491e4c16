"""The two kinds of sweep task, as plain functions of plain data (picklable for any executor).

``train_task`` trains one model and returns its weights as bytes; ``eval_task`` evaluates one
trained model over all its chips and bit error rates. Neither touches the results store or the
file system: the driver alone writes (a worker on another machine needs no shared disk).
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any, Iterator

import numpy as np

FAULT_ENV = "BERTH_FAULT_DIE_ONCE"
DRAW_LIMIT_BYTES = 256 << 20  # the most memory one drawn chip may take in an evaluation


def maybe_die_for_test() -> None:
    """Fault injection for the retry tests: if ``$BERTH_FAULT_DIE_ONCE`` names a file that does
    not exist yet, create it and kill this worker process at once (so exactly one task dies)."""
    marker = os.environ.get(FAULT_ENV)
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(77)


_events: Any = None  # where this process reports progress inside a task (a queue the driver reads)


def set_events(queue: Any) -> None:
    """Report progress inside tasks to ``queue`` (None: stay silent)."""
    global _events
    _events = queue


def report(what: str, done: int, total: int) -> None:
    """One step of a task done (an epoch trained, a chip evaluated), for the driver's progress line."""
    if _events is not None:
        try:
            _events.put_nowait((what, done, total))
        except Exception:  # a full or closed queue must never fail the task
            pass


def _setup_worker() -> None:
    """The same numbers from the same seeds in every worker, whatever the worker count or load:
    one thread per task (torch and the numba bit sampler, so no sum is split differently) and
    deterministic kernels only (cuBLAS told to use a fixed workspace). Data order,
    initialization, chips and RandBET's flips come from seeds alone."""
    import numba
    import torch

    from berth.quant.kernels import start_pool

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    start_pool()  # before numba.set_num_threads, which would start it and reset torch's count
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


@lru_cache(maxsize=4)
def _dataset(name: str, seed: int, data_dir: str | None = None):
    from berth.data.datasets import load_dataset

    return load_dataset(name, seed=seed, data_dir=data_dir)


def build_model(run: dict[str, Any], data) -> Any:
    """The untrained model of a run config (see ``berth.flows.sweep.plan``)."""
    from berth.models import model_for_data

    return model_for_data(run["model"], data, scheme=run["scheme"], bits=run["bits"], w_max=run["w_max"] or None,
                          seed=run["seed"], **run["model_options"])


def train_task(run: dict[str, Any]) -> dict[str, Any]:
    """Train the model of one run config; returns weights (bytes), history, clean error, the
    scheme the run records, timings."""
    maybe_die_for_test()
    _setup_worker()
    from berth.core.provenance import machine_info
    from berth.models.files import model_bytes
    from berth.quant.evaluate import predict
    from berth.quant.inject import own_code_bits, recorded_scheme
    from berth.train.loop import TrainConfig, train

    started = time.time()
    data = _dataset(run["dataset"], run["data_seed"], run.get("data_dir"))
    if "qonnx" in run:
        return _qonnx_clean(run, data, started)
    model = build_model(run, data)
    what = f"training {run['label']} {run['model']} {run['bits']}-bit seed {run['seed']}: epoch"
    history = train(model, data, TrainConfig(**run["train"]), progress=False,
                    on_epoch=lambda done, total: report(what, done, total))
    clean_error = float((predict(model, data.x_test) != data.y_test.numpy()).mean())
    finished = time.time()
    return {"state": model_bytes(model), "history": history, "clean_error": clean_error,
            "scheme": recorded_scheme(run["scheme"], own_code_bits(model)),
            "started": started, "finished": finished, "train_s": finished - started, "machine": machine_info()}


def _qonnx_clean(run: dict[str, Any], data, started: float) -> dict[str, Any]:
    """A QONNX file's "training": nothing to train (its model file is the file itself, no state);
    its clean error, with the data checked against the graph's input."""
    from berth.core.provenance import machine_info
    from berth.hardware.hls4ml.qonnx_in import QonnxReference, input_shape, load_qonnx, output_width

    ref = QonnxReference(load_qonnx(run["qonnx"]["path"]))
    data.check_fits(f"QONNX file {run['model']!r}", input_shape(ref.wrapper), output_width(ref.wrapper))
    clean_error = float((ref.labels_of(data.x_test)(ref.codes(), None) != data.y_test.numpy()).mean())
    finished = time.time()
    return {"state": None, "history": [], "clean_error": clean_error, "scheme": run["scheme"], "started": started,
            "finished": finished, "train_s": 0.0, "machine": machine_info()}


def chip_points(spec: dict[str, Any], ps: list[float], chips: int) -> list[tuple[float, int]]:
    """The (p, chip) pairs an evaluation covers, chip by chip (rates ascending), or one point per
    profiled map."""
    if spec["kind"] == "profiled":
        return [(float(spec["map_rates"][k]), k) for k in range(len(spec["maps"]))]
    return [(float(p), k) for k in range(chips) for p in sorted(ps)]


def chip_models(spec: dict[str, Any], points: list[tuple[float, int]], clean) -> Iterator[tuple[float, int, Any]]:
    """``(p, chip, error model)`` per point. A random chip is drawn once, at its highest rate, and
    applied at each of its rates (``berth.quant.faultmap``: the same bits, without drawing again), unless
    its drawn points would take more than ``DRAW_LIMIT_BYTES``."""
    from berth.quant.faultmap import drawn_bytes
    from berth.quant.faults import error_model

    highest: dict[int, float] = {}
    for p, chip in points:
        highest[chip] = max(highest.get(chip, 0.0), p)
    bits = sum(qt.codes.size * qt.bits for qt in clean.values())
    drawn = None
    for p, chip in points:
        if spec["kind"] != "random" or drawn_bytes(bits, highest[chip]) > DRAW_LIMIT_BYTES:
            yield p, chip, error_model(spec, p, chip)
            continue
        if drawn is None or drawn.errors.chip != chip:
            drawn = error_model(spec, highest[chip], chip).draw(clean)
        yield p, chip, drawn.at(p)


def rerr_over_chips(model, x, y: np.ndarray, spec: dict[str, Any], points: list[tuple[float, int]]) -> tuple[float, list]:
    """Clean error and ``[(p, chip, rerr)]`` of ``model`` (a PyTorch model, or the path of a QONNX
    file) under the chips of ``spec`` at ``points`` (``berth.quant.evaluate.robust_error_of``
    over ``chip_models``)."""
    from berth.quant.evaluate import robust_error, robust_error_of

    if isinstance(model, str):
        from berth.hardware.hls4ml.qonnx_in import QonnxReference, load_qonnx

        ref = QonnxReference(load_qonnx(model))
        clean = ref.codes()
        result = robust_error_of(ref.labels_of(x), y, clean, _reported(spec, points, clean))
    else:
        from berth.quant.inject import model_codes

        clean = model_codes(model, spec.get("parameters", "weights"))
        result = robust_error(model, x, y, _reported(spec, points, clean), clean=clean)
    return result.clean_error, [(p, chip, float(r)) for (p, chip), r in zip(points, result.rerr)]


def _reported(spec: dict[str, Any], points: list[tuple[float, int]], clean) -> Iterator[Any]:
    """The error models of ``chip_models``, each reported as a step of the task as it is taken."""
    what = f"evaluating {spec.get('label', spec['kind'])}: point"
    steps = enumerate(chip_models(spec, points, clean))
    return (report(what, i + 1, len(points)) or errors for i, (*_, errors) in steps)


def eval_task(job: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one trained model (``job["state"]``, or the QONNX file ``job["qonnx"]``) under one
    error spec over all its chips."""
    maybe_die_for_test()
    _setup_worker()
    from berth.core.provenance import machine_info
    from berth.models.files import load_model

    started = time.time()
    data = _dataset(job["dataset"], job["data_seed"], job.get("data_dir"))
    model = job["qonnx"] if job.get("qonnx") else load_model(job["state"])
    points = [(float(p), int(c)) for p, c in job["points"]]
    clean_error, rows = rerr_over_chips(model, data.x_test, data.y_test.numpy(), job["spec"], points)
    return {"rows": rows, "clean_error": clean_error, "n_test": int(len(data.y_test)),
            "eval_s": time.time() - started, "machine": machine_info(), "finished": time.time()}
