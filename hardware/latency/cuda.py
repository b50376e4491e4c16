"""The CUDA path: events around each iteration, optional L2 flush and CUDA-graph replay, GPU state.

Why each piece:

* CUDA kernels launch asynchronously; a host timer without ``torch.cuda.synchronize`` measures the
  launch, not the work (the bug GENet's sibling code has). Each iteration is bracketed by its own
  pair of ``torch.cuda.Event(enable_timing=True)`` and the host waits once after the loop
  (``timing.event_samples``).
* ``l2_flush`` writes a buffer twice the L2 size before each iteration (outside its events), so
  weights are read from HBM as in a cold, real-world call; without it small models run from L2.
* ``cuda_graph`` captures one forward pass and replays it, removing per-kernel launch overhead
  (the latency a deployment with CUDA graphs / TensorRT sees at small batch).
* The GPU's name, driver, clocks, temperature, power and throttle reasons are *read* (NVML through
  ``pynvml`` when installed, else ``nvidia-smi --query-gpu``) before and after measuring — never
  set: locking clocks changes the machine for everyone and needs root.

None of this runs without a GPU; ``check_device`` turns ``--device cuda`` on a machine without one
into a one-line error.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Callable

import torch

from berth.core.errors import BerthError
from berth.hardware.latency.timing import Timer, event_samples, warmup_by_time

SMI_FIELDS = ("name", "driver_version", "clocks.sm", "clocks.mem", "clocks.max.sm", "clocks.max.mem",
              "clocks_throttle_reasons.active", "temperature.gpu", "power.draw", "pstate")


def check_device(device: str) -> torch.device:
    """``device`` as a torch device, or a one-line error if it is unknown or absent here."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BerthError(f"unknown device {device!r}; allowed: cpu, cuda, cuda:N") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise BerthError(f"unknown device {device!r}; allowed: cpu, cuda, cuda:N")
    if not torch.cuda.is_available():
        raise BerthError(f"device {device!r} is not available: torch {torch.__version__} sees no CUDA GPU on "
                         "this machine; allowed here: cpu")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise BerthError(f"device {device!r} does not exist; this machine has {count} CUDA device(s)")
    return torch.device("cuda", dev.index if dev.index is not None else torch.cuda.current_device())


def cuda_timer(device: torch.device) -> Timer:
    """CUDA-event timer on ``device`` (events on the current stream, synchronize the device)."""
    return Timer("cuda-events", lambda: torch.cuda.Event(enable_timing=True),
                 lambda: torch.cuda.synchronize(device))


class L2Flusher:
    """Overwrites a buffer of twice the device's L2 size: the next kernel finds a cold cache."""

    def __init__(self, device: torch.device):
        l2 = int(getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or 64 * 2**20)
        self.buffer = torch.empty(2 * l2 // 4, dtype=torch.float32, device=device)

    def __call__(self) -> None:
        self.buffer.zero_()


def graph_replay(fn: Callable[[], object], device: torch.device, warm_iters: int = 3) -> Callable[[], None]:
    """Capture one call of ``fn`` (inputs fixed) in a CUDA graph; returns its replay."""
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        for _ in range(warm_iters):
            fn()
    torch.cuda.current_stream(device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def cuda_samples(fn: Callable[[], object], device: torch.device, repeats: int = 200, warmup_s: float = 1.0,
                 l2_flush: bool = False, cuda_graph: bool = False) -> list[float]:
    """Milliseconds of ``repeats`` iterations of ``fn`` on ``device``, each bracketed by CUDA events."""
    with torch.cuda.device(device):
        call = graph_replay(fn, device) if cuda_graph else fn
        timer = cuda_timer(device)
        flush = L2Flusher(device) if l2_flush else None
        warmup_by_time(call, warmup_s, timer.synchronize)
        return event_samples(call, timer, repeats, before=flush)


def parse_smi(line: str, fields: tuple[str, ...] = SMI_FIELDS) -> dict[str, object]:
    """One CSV line of ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` as a dict.

    Numbers become floats, ``[N/A]``/``[Not Supported]`` become None, the throttle bitmask stays a string.
    """
    values = [v.strip() for v in line.split(",")]
    if len(values) != len(fields):
        raise ValueError(f"nvidia-smi gave {len(values)} values for {len(fields)} fields: {line!r}")
    out: dict[str, object] = {}
    for key, value in zip(fields, values):
        if value.startswith("[") or value in ("", "N/A"):
            out[key] = None
        elif key in ("name", "driver_version", "pstate", "clocks_throttle_reasons.active"):
            out[key] = value
        else:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def _nvml_state(index: int) -> dict[str, object]:
    import pynvml

    pynvml.nvmlInit()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(h)
        return {
            "source": "nvml",
            "name": name.decode() if isinstance(name, bytes) else name,
            "driver_version": _text(pynvml.nvmlSystemGetDriverVersion()),
            "clocks.sm": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
            "clocks.mem": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
            "clocks.max.sm": pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_SM),
            "clocks.max.mem": pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_MEM),
            "clocks_throttle_reasons.active": hex(pynvml.nvmlDeviceGetCurrentClocksThrottleReasons(h)),
            "temperature.gpu": pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
            "power.draw": pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
        }
    finally:
        pynvml.nvmlShutdown()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _smi_state(index: int) -> dict[str, object]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"source": "none", "why": "neither pynvml nor nvidia-smi is available"}
    cmd = [smi, f"--id={index}", f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout
        return {"source": "nvidia-smi", **parse_smi(out.strip().splitlines()[0])}
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        return {"source": "none", "why": f"nvidia-smi failed: {exc}"}


def gpu_state(index: int) -> dict[str, object]:
    """Name, driver, clocks, throttle reasons, temperature and power of GPU ``index`` (read only)."""
    try:
        return _nvml_state(index)
    except Exception:  # pynvml missing or NVML unusable: fall back to the command-line tool
        return _smi_state(index)


def cuda_environment(device: torch.device) -> dict[str, object]:
    """The GPU and CUDA stack a measurement ran on: torch, CUDA, cuDNN versions and the device's state."""
    props = torch.cuda.get_device_properties(device)
    return {
        "gpu": props.name,
        "capability": f"{props.major}.{props.minor}",
        "memory_gib": round(props.total_memory / 2**30, 1),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "state": gpu_state(device.index or 0),
    }
