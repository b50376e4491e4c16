"""The SRAM voltage -> bit error rate -> energy model and its data file."""

import json

import numpy as np
import pytest

from berth.core.errors import BerthError
from berth.hardware.energy import DEFAULT_PROFILE, load_profile


def test_profile_has_source_and_provenance():
    data = json.loads(DEFAULT_PROFILE.read_text())
    assert "Stutz" in data["source"] and "MLSys 2021" in data["source"]
    assert "RECONSTRUCTED" in data["provenance"]


def test_anchor_points_and_monotonicity():
    prof = load_profile()
    assert np.isclose(prof.saving(0.01), 0.20, atol=0.005)
    assert np.isclose(prof.saving(0.025), 0.30, atol=0.005)
    assert prof.saving(1e-9) == 0.0
    ps = np.logspace(-6, -0.5, 40)
    s = prof.saving(ps)
    assert np.all(np.diff(s) >= 0) and np.all((s >= 0) & (s < 1))
    v = prof.voltage_at(ps)
    assert np.allclose(prof.p_at(v[(ps > 1e-7) & (ps < 0.5)]), ps[(ps > 1e-7) & (ps < 0.5)], rtol=1e-6)


def test_bad_profile(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"points": [{"v_over_vmin": 1.0, "p": 0.01}, {"v_over_vmin": 0.9, "p": 0.001}]}))
    with pytest.raises(BerthError, match="rising"):
        load_profile(bad)
    bad.write_text("{")
    with pytest.raises(BerthError, match="not readable"):
        load_profile(bad)
