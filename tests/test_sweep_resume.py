"""A stored sweep rerun with other rates or more chips: exactly the missing (p, chip) pairs are
evaluated; stored rows stay as they are; a changed error model under the same name is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.core.errors import BerthError
from berth.core.store import Store
from berth.flows.driver import Driver
from berth.flows.executors import SerialExecutor
from berth.flows.sweep import load_sweep
from sweep_helpers import snapshot, write_tiny


def run(sweep_file: Path, store: Path, *overrides: str) -> dict[str, int]:
    sweep, _ = load_sweep(sweep_file, list(overrides))
    with Store(store) as s:
        return Driver(sweep, s, SerialExecutor(), progress=False).run()


def test_more_chips_and_rates_evaluate_only_the_new_pairs(tmp_path: Path, monkeypatch) -> None:
    sweep_file = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "s.sqlite"
    base = ["models=[\"mlp\"]", "bits=[8]", "variants=[{name = \"clipping\", scheme = \"rquant\", w_max = 0.1}]"]
    first = run(sweep_file, store, *base, "chips=2", "p=[0.01, 0.05]")
    assert first["trained"] == 1 and first["evaluated"] == 1
    before = snapshot(store)
    assert len(before) == 4

    from berth.flows import tasks

    asked: list[list] = []
    real = tasks.eval_task

    def spy(job):
        asked.append(sorted(job["points"]))
        return real(job)

    monkeypatch.setattr("berth.flows.driver.eval_task", spy)
    again = run(sweep_file, store, *base, "chips=3", "p=[0.01, 0.05, 0.1]")
    assert again["trained"] == 0 and again["evaluated"] == 1
    old = {(p, c) for p in (0.01, 0.05) for c in (0, 1)}
    assert asked == [sorted({(p, c) for p in (0.01, 0.05, 0.1) for c in range(3)} - old)]
    after = snapshot(store)
    assert len(after) == 9 and set(before) <= set(after)  # old rows untouched, new ones added
    with Store(store) as s:
        assert s.query("evals")[0]["chips"] == 3
    assert run(sweep_file, store, *base, "chips=3", "p=[0.01, 0.05, 0.1]")["evaluated"] == 0


def test_a_changed_error_model_under_the_same_name_is_refused(tmp_path: Path) -> None:
    sweep_file = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "s.sqlite"
    base = ["models=[\"mlp\"]", "bits=[8]", "variants=[{name = \"clipping\", scheme = \"rquant\", w_max = 0.1}]",
            "chips=2", "p=[0.01]"]
    run(sweep_file, store, *base, "errors=[{kind = \"stuck_at\", name = \"cells\", value = 0}]")
    with pytest.raises(BerthError, match="'cells'.*another definition"):
        run(sweep_file, store, *base, "errors=[{kind = \"stuck_at\", name = \"cells\", value = 1}]")


def test_a_damaged_checkpoint_is_retrained_with_a_warning(tmp_path: Path, capsys) -> None:
    sweep_file = write_tiny(tmp_path, tmp_path / "out")
    store = tmp_path / "s.sqlite"
    base = ["models=[\"mlp\"]", "bits=[8]", "variants=[{name = \"clipping\", scheme = \"rquant\", w_max = 0.1}]",
            "chips=2", "p=[0.01]"]
    run(sweep_file, store, *base)
    (ckpt,) = (tmp_path / "out" / "tiny" / "checkpoints").glob("*.pt")
    good = ckpt.read_bytes()
    ckpt.write_bytes(good[: len(good) // 2])  # truncated by a crash or a full disk
    counts = run(sweep_file, store, *base, "chips=3")
    assert counts["trained"] == 1 and counts["evaluated"] == 1
    assert "warning: retraining run" in capsys.readouterr().err
    assert ckpt.read_bytes() == good  # deterministic training: the same model file again
