"""Profiles of one model: every variant x batch size x dtype, on the CPU or a CUDA GPU.

``profile_model`` returns store rows (table ``latency``) and notes saying what was *not*
measured and why (no integer path, a dtype the device cannot run, ...). The fake-quant
simulation is measured in float32 only: it is a simulation, and casting Brevitas' quantizers
would change what it simulates.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from berth.core.errors import BerthError, check_choice, check_range
from berth.core.store import now_utc
from berth.hardware.latency.stats import LatencyStats, summarize
from berth.hardware.latency.variants import DEPLOYABLE, VARIANTS, float_equivalent, integer_path

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DTYPE_ALIASES = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}


def parse_dtype(name: str) -> str:
    """The canonical dtype name for ``name`` (float32/fp32, float16/fp16, bfloat16/bf16)."""
    canonical = DTYPE_ALIASES.get(str(name).lower(), str(name).lower())
    if canonical not in DTYPES:
        raise BerthError(f"unknown dtype {name!r}; allowed: float32 (fp32), float16 (fp16), bfloat16 (bf16)")
    return canonical


MAX_BATCH = 65536  # the largest batch measured: beyond it the inputs alone outgrow most machines


@dataclass(frozen=True)
class ProfileSettings:
    """What to measure and how.

    ``clock`` (CPU only) is ``wall`` (elapsed time, default) or ``thread`` (the calling thread's
    CPU time, threads = 1: excludes time descheduled on a shared machine; see ``timing.cpu_samples``).
    ``threads`` is the CPU thread count (default 1: on a small or shared machine a second thread
    waits on descheduled peers and multiplies both latency and its spread; pass more to measure
    multi-threaded latency — the count is recorded with every row).
    """

    device: str = "cpu"
    batches: tuple[int, ...] = (1, 64)
    dtypes: tuple[str, ...] = ("float32",)
    variants: tuple[str, ...] = VARIANTS
    repeats: int = 50
    warmup_s: float = 0.2
    block_s: float = 0.01
    threads: int = 1
    l2_flush: bool = False
    cuda_graph: bool = False
    clock: str = "wall"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtypes", tuple(parse_dtype(d) for d in self.dtypes))
        for v in self.variants:
            check_choice("variant", v, VARIANTS)
        for b in self.batches:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise BerthError(f"batch size {b!r} must be an integer >= 1")
        cores = os.cpu_count() or 1
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or not 1 <= self.threads <= 4 * cores:
            raise BerthError(f"threads = {self.threads!r} is not allowed; allowed: integers 1..{4 * cores} (this "
                             f"machine has {cores} cores)")
        if self.device == "cpu" or self.device.startswith("cpu"):
            from berth.hardware.latency.timing import check_clock

            check_clock(self.clock, self.threads)
        if self.repeats < 5:
            raise BerthError(f"repeats = {self.repeats!r} must be >= 5 (quartiles need samples)")
        check_range("batch size", max(self.batches, default=1), 1, MAX_BATCH)
        check_range("warm-up seconds", self.warmup_s, 0.0, 600.0)
        if not 0 < self.block_s <= 10:
            raise BerthError(f"block = {self.block_s * 1000:g} ms is not allowed; allowed: > 0 and <= 10000 ms")

    @property
    def thread_count(self) -> int:
        return self.threads

    def where(self) -> str:
        """Where and with what timer latency is measured, for headers."""
        if self.device.startswith("cuda"):
            return f"{self.device}, CUDA events"
        return f"CPU, {self.threads} thread(s), {self.clock} clock"


def model_key(config: dict | None, name: str) -> str:
    """Identity of a model's structure for latency: its config without seed and clipping (16 hex)."""
    cfg = {k: v for k, v in (config or {"name": name}).items() if k not in ("seed", "w_max")}
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cpu_environment(threads: int) -> dict[str, object]:
    """CPU model, cores, thread count, load average and torch version of a CPU measurement."""
    from berth.core.provenance import machine_info

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": cpu or machine_info()["processor"], "cores": os.cpu_count(), "threads": threads,
            "load_avg": [round(x, 2) for x in os.getloadavg()], "torch": torch.__version__,
            "mkldnn": torch.backends.mkldnn.is_available(), "host": machine_info()["host"]}


class Measurer:
    """Times a callable on one device with the settings' repeats and warm-up."""

    def __init__(self, settings: ProfileSettings, device: torch.device):
        self.s, self.device = settings, device

    @property
    def timer_name(self) -> str:
        if self.device.type == "cuda":
            return "cuda-events"
        return "torch.utils.benchmark" + (" (thread CPU time)" if self.s.clock == "thread" else "")

    def __call__(self, fn: Callable[[], object]) -> tuple[LatencyStats, int]:
        """Stats of ``fn`` in ms and the calls averaged per sample."""
        if self.device.type == "cuda":
            from berth.hardware.latency.cuda import cuda_samples

            samples = cuda_samples(fn, self.device, self.s.repeats, self.s.warmup_s, self.s.l2_flush, self.s.cuda_graph)
            return summarize(samples), 1
        from berth.hardware.latency.timing import cpu_samples

        got = cpu_samples(fn, self.s.thread_count, self.s.repeats, self.s.block_s, self.s.warmup_s, self.s.clock)
        return summarize(got.samples_ms), got.number

    def environment(self) -> dict[str, object]:
        if self.device.type == "cuda":
            from berth.hardware.latency.cuda import cuda_environment

            return cuda_environment(self.device)
        return {**cpu_environment(self.s.thread_count), "clock": self.s.clock}


@dataclass
class Profile:
    """Rows for the ``latency`` table and notes on what could not be measured."""

    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _inputs(shape: tuple[int, int, int], batch: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand((batch, *shape), generator=gen)


def _row(base: dict, variant: str, dtype: str, batch: int, stats: LatencyStats, number: int,
         measurer: Measurer, env: dict, detail: dict) -> dict:
    s = measurer.s
    return {**base, "variant": variant, "deployable": int(DEPLOYABLE[variant]), "device": str(measurer.device),
            "dtype": dtype, "batch": batch, "threads": s.thread_count if measurer.device.type == "cpu" else 0,
            "clock": s.clock if measurer.device.type == "cpu" else "wall",
            "l2_flush": int(s.l2_flush and measurer.device.type == "cuda"),
            "cuda_graph": int(s.cuda_graph and measurer.device.type == "cuda"), "timer": measurer.timer_name,
            "ms_median": stats.median, "ms_q1": stats.q1, "ms_q3": stats.q3, "ms_iqr": stats.iqr,
            "ms_p90": stats.p90, "ms_mean": stats.mean, "ms_per_image": stats.median / batch,
            "rel_iqr": stats.rel_iqr, "samples": stats.n, "calls_per_sample": number, "warmup_s": s.warmup_s,
            "detail": detail, "env": env, "measured": now_utc()}


def torch_call(model: nn.Module, *inputs: torch.Tensor) -> Callable[[], object]:
    """A no-argument call of ``model`` on ``inputs`` under inference mode (no autograd recording)."""
    def run() -> object:
        with torch.inference_mode():
            return model(*inputs)
    return run


def profile_model(model: nn.Module, shape: tuple[int, int, int], settings: ProfileSettings,
                  name: str, run_id: str = "", progress: Callable[[str], None] = print) -> Profile:
    """Measure ``model`` (a Brevitas zoo model) for every requested variant, batch and dtype."""
    from berth.hardware.latency.cuda import check_device

    device = check_device(settings.device)
    measurer = Measurer(settings, device)
    env = measurer.environment()
    config = getattr(model, "berth_config", None)
    base = {"model_key": model_key(config, name), "run_id": run_id, "model": name, "model_config": config}
    out = Profile()
    model = model.eval()
    plain = float_equivalent(model) if "float" in settings.variants else None
    for batch in settings.batches:
        x = _inputs(shape, batch, settings.seed)
        for variant in settings.variants:
            for dtype, stats, number, detail in _guarded(variant, model, plain, x, device, settings, measurer, out):
                out.rows.append(_row(base, variant, dtype, batch, stats, number, measurer, env, detail))
                progress(_measured_line(variant, batch, dtype, stats))
    if device.type == "cuda":  # clocks and throttle reasons after the run too: did it throttle while measuring?
        from berth.hardware.latency.cuda import gpu_state

        env["state_after"] = gpu_state(device.index or 0)
    return out


def profile_qonnx(path: str | Path, shape: tuple[int, int, int], settings: ProfileSettings, name: str,
                  run_id: str = "", progress: Callable[[str], None] = print) -> Profile:
    """Measure the QONNX graph in ``path`` for every requested variant and batch
    (``qonnx_variants``), on the CPU: float32, and int8 for the integer path."""
    from berth.hardware.latency.qonnx_variants import QonnxVariants, qonnx_key

    device = torch.device(settings.device)
    if device.type != "cpu":
        raise BerthError(f"device {settings.device!r} is not allowed for a QONNX file; allowed: cpu (qonnx and "
                         "ONNX Runtime run it on the CPU)")
    measurer = Measurer(settings, device)
    env = measurer.environment()
    base = {"model_key": qonnx_key(path), "run_id": run_id, "model": name, "model_config": None}
    out = Profile()
    if settings.dtypes != ("float32",):
        _note(out, "a QONNX file is measured in float32 (and int8 on its integer path) only")
    for batch in settings.batches:
        graphs, x = QonnxVariants(path, batch, settings.thread_count), _inputs(shape, batch, settings.seed).numpy()
        for variant in settings.variants:
            measured = _qonnx_variant(variant, graphs, x, out)
            if measured is None:
                continue
            dtype, fn, detail = measured
            stats, number = measurer(fn)
            out.rows.append(_row(base, variant, dtype, batch, stats, number, measurer, env, detail))
            progress(_measured_line(variant, batch, dtype, stats))
    return out


def _qonnx_variant(variant: str, graphs, x, out: Profile) -> tuple[str, Callable[[], object], dict] | None:
    """(dtype, call, detail) of one variant of a QONNX graph, or None with a note saying why not."""
    if variant == "simulation":
        return "float32", graphs.simulation(x), {"what": "qonnx execution of the graph (simulation, not deployable)"}
    if variant == "float":
        return "float32", graphs.float(x), {"what": "float equivalent in ONNX Runtime: weights dequantized, "
                                                   "Quant nodes removed"}
    path = graphs.integer()
    if path.session is None:
        _note(out, f"integer-ort: no integer path for this QONNX file: {path.why}")
        return None
    _note(out, path.note())
    return "int8", path.runner(x), path.detail("ONNX Runtime on qonnx's QCDQ conversion")


def _measured_line(variant: str, batch: int, dtype: str, stats: LatencyStats) -> str:
    """One measurement as the profile prints it."""
    return (f"  {variant:<11} batch {batch:>3} {dtype:<8} {stats.median:9.4f} ms/batch "
            f"{stats.median / batch:9.5f} ms/image  IQR/median {stats.rel_iqr * 100:5.1f}%  p90 {stats.p90:.4f} ms")


def _guarded(variant: str, *args):
    """``_measure_variant``, turning a runtime failure (e.g. a CUDA graph that cannot be captured)
    into a note instead of a traceback, so the other variants are still measured."""
    out = args[-1]
    try:
        yield from _measure_variant(variant, *args)
    except (RuntimeError, NotImplementedError) as exc:
        _note(out, f"{variant}: not measured ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")


def _measure_variant(variant: str, model: nn.Module, plain: nn.Module | None, x: torch.Tensor,
                     device: torch.device, s: ProfileSettings, measure: Measurer, out: Profile):
    """Yield (dtype, stats, calls per sample, detail) for each dtype this variant can run."""
    if variant == "simulation":
        if s.dtypes != ("float32",):
            _note(out, "simulation (Brevitas fake-quant) is measured in float32 only")
        sim = model.to(device)
        stats, number = measure(torch_call(sim, x.to(device)))
        model.to("cpu")
        yield "float32", stats, number, {"what": "Brevitas fake-quant forward (simulation, not deployable)"}
    elif variant == "float":
        for dtype in s.dtypes:
            net = plain.to(device=device, dtype=DTYPES[dtype])
            xd = x.to(device=device, dtype=DTYPES[dtype])
            try:
                with torch.inference_mode():
                    net(xd)
            except (RuntimeError, NotImplementedError) as exc:
                _note(out, f"float {dtype} on {device}: not run ({str(exc).splitlines()[0][:100]})")
                continue
            stats, number = measure(torch_call(net, xd))
            yield dtype, stats, number, {"what": "float equivalent: plain torch, dequantized weights, eager"}
        plain.to(device="cpu", dtype=torch.float32)
    elif variant == "integer-ort":
        if device.type != "cpu":
            _note(out, "integer-ort: ONNX Runtime's integer kernels are measured on the CPU only")
            return
        path = integer_path(model, x, s.thread_count)
        if path.session is None:
            _note(out, f"integer-ort: no integer path for this model: {path.why}")
            return
        _note(out, path.note())
        stats, number = measure(path.runner(x.numpy()))
        yield "int8", stats, number, path.detail("ONNX Runtime on the QCDQ export")


def _note(out: Profile, text: str) -> None:
    if text not in out.notes:
        out.notes.append(text)
