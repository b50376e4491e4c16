"""What a result needs to be reproduced: versions, machine, time, seeds."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import sys
from importlib import metadata

PACKAGES = ("berth", "torch", "brevitas", "numpy", "numba", "hls4ml", "qonnx", "cocotb", "scikit-learn")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that decide numerics (absent ones are skipped)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine_info() -> dict[str, object]:
    """Host, OS, CPU and core count of the running machine, and the Ray node when this runs in a
    Ray worker (several nodes may share one host)."""
    info: dict[str, object] = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        info["ray_node"] = ray.get_runtime_context().get_node_id()
    return info


def provenance(seeds: dict[str, int] | None = None) -> dict[str, object]:
    """One record of seeds, package versions, machine and UTC time for a result."""
    return {
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seeds": dict(seeds or {}),
        "versions": package_versions(),
        "machine": machine_info(),
    }
