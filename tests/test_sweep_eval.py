"""The sweep's evaluation task agrees with the engine's reference evaluation, chip for chip."""

import numpy as np
import pytest

from berth.data.datasets import load_dataset
from berth.flows.tasks import chip_points, rerr_over_chips
from berth.quant.faults import error_model
from berth.models.files import load_model, model_bytes
from berth.models import create_model
from berth.quant.faults import RandomBitErrors
from berth.quant.evaluate import robust_error
from berth.quant.inject import model_codes


def test_rerr_matches_the_engine_and_survives_a_round_trip():
    data = load_dataset("digits", seed=0)
    model = create_model("mlp", scheme="normal", bits=8, hidden=(32,)).eval()
    model = load_model(model_bytes(model))  # global ranges re-bound after loading
    ps, chips = [0.05, 0.01], 3
    points = chip_points({"kind": "random"}, ps, chips)
    assert points[:2] == [(0.01, 0), (0.05, 0)]  # chip by chip, rates ascending
    clean, rows = rerr_over_chips(model, data.x_test, data.y_test.numpy(), {"kind": "random"}, points)
    for p in ps:
        ref = robust_error(model, data.x_test, data.y_test, [RandomBitErrors(p, chip=k) for k in range(chips)])
        assert np.isclose(clean, ref.clean_error)
        got = [r for q, c, r in sorted(rows, key=lambda t: t[1]) if q == p]
        assert np.allclose(got, ref.rerr)


def test_stuck_at_and_profiled_maps_in_a_sweep(tmp_path):
    from berth.flows.driver import Driver
    from berth.flows.executors import SerialExecutor
    from berth.core.store import Store
    from berth.flows.sweep import load_sweep

    rng = np.random.default_rng(0)
    np.save(tmp_path / "chipA.npy", rng.uniform(0, 0.02, size=(64, 32)))
    np.save(tmp_path / "chipB.npy", rng.uniform(0, 0.04, size=(64, 32)))
    (tmp_path / "s.toml").write_text(f"""
name = "kinds"
models = ["mlp"]
model_options = {{ hidden = [16] }}
p = [0.01, 0.1]
chips = 3
train = {{ epochs = 1 }}
out = "{tmp_path / 'out'}"

[[errors]]
kind = "random"

[[errors]]
kind = "stuck_at"
value = 0

[[errors]]
kind = "profiled"
name = "measured"
maps = ["chipA.npy", "chipB.npy"]
word_width = 32
""")
    sweep, _ = load_sweep(tmp_path / "s.toml")
    with Store(tmp_path / "k.sqlite") as store:
        counts = Driver(sweep, store, SerialExecutor(), progress=False).run()
        rows = store.query("results")
    assert counts == {"trained": 1, "read": 0, "evaluated": 3, "elsewhere": 0, "skipped": 0}
    by = {e: [r for r in rows if r["errors"] == e] for e in ("random", "stuck_at", "measured")}
    assert len(by["random"]) == len(by["stuck_at"]) == 6 and len(by["measured"]) == 2
    assert sorted(round(r["p"], 3) for r in by["measured"]) == [0.01, 0.02]
    assert all(r["rerr"] >= r["clean_error"] for r in rows)


def test_missing_map_is_named(tmp_path):
    from berth.core.errors import BerthError
    from berth.flows.sweep import load_sweep

    (tmp_path / "s.toml").write_text('[[errors]]\nkind = "profiled"\nmaps = ["nope.npy"]\n')
    with pytest.raises(BerthError, match="nope.npy"):
        load_sweep(tmp_path / "s.toml")
