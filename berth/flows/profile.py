"""``berth profile``'s pipelines: profile models (a zoo model, a model file, or every trained run
in a store) into the store's latency tables, and GENet's block study with its table and PNG.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable

import torch

from berth.core.errors import BerthError


def header(s) -> str:
    """What is measured and under what conditions (device, threads, load)."""
    where = s.device if s.device != "cpu" else (f"cpu, {s.thread_count} thread(s), {s.clock} clock, "
                                                f"load average {os.getloadavg()[0]:.2f}")
    return (f"profiling on {where}; {s.repeats} samples after {s.warmup_s:g} s warm-up; "
            "'simulation' = fake-quant, Brevitas' or qonnx's (NOT deployable latency)")


def model_target(source: str | None, scheme: str, bits: int, act_bits: int | None, hw: bool,
                 in_channels: int, input_size: int) -> tuple:
    """(model, name, input shape, run id "") for a model file, a QONNX file (the model is its
    path) or a registered model's name."""
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.models import create_model
    from berth.models.files import load_model
    from berth.models.registry import input_shape

    if source is None:
        raise BerthError("berth profile needs MODEL (a zoo model name, checkpoint or QONNX file), --runs or --blocks")
    if is_qonnx_file(source):
        return qonnx_target(source, "")
    if Path(source).is_file():
        model = load_model(source)
        return model, model.berth_config["name"], input_shape(model.berth_config), ""
    model = create_model(source, scheme=scheme, bits=bits, act_bits=act_bits, hw=hw, in_channels=in_channels,
                         input_size=input_size)
    return model.eval(), source, (in_channels, input_size, input_size), ""


def run_targets(store_path: str | Path | None, say: Callable[[str], None]) -> list:
    """(model, name, shape, run_id) of every run in the store whose model file rebuilds."""
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.hardware.latency.tables import open_store
    from berth.models.files import load_model
    from berth.models.registry import input_shape

    out = []
    with open_store(store_path, read_only=True) as store:
        runs = store.query("runs", order_by="sweep,label,bits,run_id")
    for run in runs:
        if not run["checkpoint"]:  # an eval run of a zoo model or model file keeps no model file
            say(f"skipping run {run['run_id']} ({run['label']}): no model file was kept (a berth eval run)")
            continue
        try:
            if is_qonnx_file(run["checkpoint"]):
                out.append(qonnx_run_target(run))
                continue
            model = load_model(run["checkpoint"])
        except BerthError as exc:
            say(f"skipping run {run['run_id']} ({run['label']}): {exc}")
            continue
        cfg = model.berth_config
        out.append((model, f"{cfg['name']}[{run['label']}, {run['bits']}b]", input_shape(cfg), run["run_id"]))
    if not out:
        raise BerthError("no run in the store has a checkpoint berth can rebuild; train with `berth sweep` first")
    return out


def qonnx_run_target(run: dict) -> tuple:
    """The target of a run of a QONNX file, refused (BerthError) when the file is no longer the one
    the run measured: its latency would join that run's robustness."""
    from berth.data.own import file_sha256

    path = run["checkpoint"]
    recorded = ((run.get("config") or {}).get("qonnx") or {}).get("sha256")
    now = file_sha256(path) if Path(path).is_file() and recorded else recorded
    if now != recorded:
        raise BerthError(f"QONNX file {path!r} has changed since the run measured it (SHA-256 {recorded[:12]}... then, "
                         f"{now[:12]}... now); evaluate it again to profile it as a run")
    return qonnx_target(path, run["run_id"], f"[{run['label']}, {run['bits']}b]")


def qonnx_target(path: str, run_id: str, suffix: str = "") -> tuple:
    """(path, name, input shape, run id) of a QONNX file."""
    from berth.hardware.hls4ml.qonnx_in import input_shape, load_qonnx

    return Path(path), f"{Path(path).name}{suffix}", input_shape(load_qonnx(path)), run_id


def check_inputs_fit(name: str, shape: tuple[int, ...], batch: int) -> None:
    """A batch of float32 inputs must fit in a quarter of the machine's memory (the model, its
    activations and a second copy need the rest): else one line naming the batch."""
    need = batch * math.prod(shape) * 4
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if need > memory / 4:
        largest = max(1, int(memory / 4 // (math.prod(shape) * 4)))
        raise BerthError(f"batch size {batch} is not allowed for {name} (input {'x'.join(map(str, shape))}): its "
                         f"inputs alone are {need / 2**30:.1f} GiB of this machine's {memory / 2**30:.0f} GiB; "
                         f"allowed: up to {largest}")


def profile_all(targets: list, settings, store_path: str | Path | None, layers: bool,
                say: Callable[[str], None]) -> None:
    """Profile each target, store its rows, report notes (and the per-layer table with ``layers``)."""
    from berth.hardware.latency.profiler import profile_model, profile_qonnx
    from berth.hardware.latency.tables import open_store

    for _, name, shape, _ in targets:  # before any measurement
        check_inputs_fit(name, shape, max(settings.batches))
    with open_store(store_path) as store:
        say(f"results store: {store.path}")
        say(header(settings))
        for model, name, shape, run_id in targets:
            say(f"\n{name} (input {'x'.join(map(str, shape))}){' run ' + run_id if run_id else ''}")
            if isinstance(model, Path):  # a QONNX file
                prof = profile_qonnx(model, shape, settings, name.split("[")[0], run_id)
                if layers:
                    prof.notes.append("no per-layer table for a QONNX file (--layers measures PyTorch layers)")
            else:
                prof = profile_model(model, shape, settings, name.split("[")[0], run_id)
            store.insert("latency", prof.rows, on_conflict="replace")
            for note in prof.notes:
                say(f"  note: {note}")
            if layers and not isinstance(model, Path):
                from berth.hardware.latency.report import layer_report

                layer_report(store, model, shape, settings, prof)


def block_study(settings, width_mult: float, store_path: str | Path | None, out: Path,
                say: Callable[[str], None]) -> tuple[str, str]:
    """GENet block study: measure, store, write ``blocks.md`` and ``blocks.png``; (table, verdict)."""
    from berth.core.files import atomic_write_text
    from berth.hardware.latency import blocks
    from berth.hardware.latency.profiler import DTYPES, Measurer
    from berth.hardware.latency.tables import open_store

    dtype, batch = settings.dtypes[0], settings.batches[0]
    stages = blocks.stage_table(width_mult)
    measure = Measurer(settings, torch.device(settings.device))
    say(header(settings))
    say(f"GENet block study: stride-1 blocks at GENet-normal stages x{width_mult:g} width, batch {batch}, {dtype}")
    results = blocks.run_study(measure, batch, stages, DTYPES[dtype], torch.device(settings.device))
    threads = settings.thread_count if settings.device == "cpu" else 0
    with open_store(store_path) as store:
        store.insert("block_study", blocks.rows(results, batch, dtype, settings.device, threads),
                     on_conflict="replace")
    verdict = blocks.verdict(results)
    where = settings.device if settings.device != "cpu" else f"CPU ({threads} threads)"
    title = f"GENet block study on {where}, batch {batch}, {dtype}: {verdict}"
    table = blocks.markdown(results)
    atomic_write_text(out / "blocks.md", f"# {title}\n\n{table}\n")
    blocks.plot(results, out / "blocks.png", title)
    return table, verdict
