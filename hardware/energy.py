"""Voltage -> bit error rate -> energy: what a bit error rate p saves in SRAM energy.

Lowering an SRAM's supply voltage V below Vmin (the lowest error-free voltage) saves energy per
access and makes bit errors. A profile is a table of (V/Vmin, p) points kept in a JSON data file
with its source (``hardware/data/sram_profile_stutz2021.json`` by default — read its
``provenance``: the points are reconstructed from the paper's text, not its measured figure).

Between points, log10(p) is interpolated linearly in V (bit error rates rise exponentially as V
drops); beyond the last point the last slope is extended. Energy per access relative to Vmin is
(V/Vmin)^2, so the saving at rate p is 1 - V(p)^2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError
from berth.core.files import package_file

DEFAULT_PROFILE = package_file("berth.hardware", "data", "sram_profile_stutz2021.json")


@dataclass(frozen=True)
class SramProfile:
    """Bit error rate over normalized voltage, with energy per access ~ (V/Vmin)^2."""

    voltage: np.ndarray  # V/Vmin, strictly decreasing
    log_p: np.ndarray  # log10 p at each voltage, strictly increasing
    source: str
    provenance: str

    def p_at(self, v: float | np.ndarray) -> np.ndarray:
        """Bit error rate at normalized voltage ``v`` (capped at 0.5)."""
        v = np.asarray(v, dtype=np.float64)
        x, y = self.voltage[::-1], self.log_p[::-1]
        lp = np.interp(v, x, y)
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        lp = np.where(v < x[0], y[0] + (v - x[0]) * lo_slope, lp)
        return np.minimum(10.0 ** lp, 0.5)

    def voltage_at(self, p: float | np.ndarray) -> np.ndarray:
        """Normalized voltage at which the bit error rate is ``p`` (1.0 for p at or below p(Vmin))."""
        lp = np.log10(np.maximum(np.asarray(p, dtype=np.float64), 1e-300))
        v = np.interp(lp, self.log_p, self.voltage)
        hi_slope = (self.voltage[-1] - self.voltage[-2]) / (self.log_p[-1] - self.log_p[-2])
        return np.where(lp > self.log_p[-1], self.voltage[-1] + (lp - self.log_p[-1]) * hi_slope, v)

    def energy(self, v: float | np.ndarray) -> np.ndarray:
        """Energy per access relative to operation at Vmin."""
        return np.asarray(v, dtype=np.float64) ** 2

    def saving(self, p: float | np.ndarray) -> np.ndarray:
        """Fraction of SRAM access energy saved by running at the voltage where errors occur at rate p."""
        return 1.0 - self.energy(self.voltage_at(p))


def load_profile(path: str | Path = DEFAULT_PROFILE) -> SramProfile:
    """Read and check a profile file: at least two points, V decreasing while p increases."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        points = sorted(data["points"], key=lambda q: -q["v_over_vmin"])
        v = np.array([float(q["v_over_vmin"]) for q in points])
        p = np.array([float(q["p"]) for q in points])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BerthError(f"SRAM profile {str(path)!r} is not readable ({exc}); expected JSON with "
                         "'points': [{'v_over_vmin': ..., 'p': ...}, ...]") from None
    if data.get("energy_model", "quadratic") != "quadratic":
        raise BerthError(f"SRAM profile {str(path)!r}: energy_model {data['energy_model']!r}; allowed: quadratic")
    if len(v) < 2 or not (np.all(np.diff(v) < 0) and np.all(np.diff(p) > 0) and np.all(p > 0) and np.all(p <= 0.5)):
        raise BerthError(f"SRAM profile {str(path)!r} needs >= 2 points with p in (0, 0.5] rising as V/Vmin falls")
    return SramProfile(v, np.log10(p), str(data.get("source", "")), str(data.get("provenance", "")))
