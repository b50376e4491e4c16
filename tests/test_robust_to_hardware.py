"""A robust-trained model straight into hardware: ``berth train`` (RandBET, hardware build) ->
``berth hls export`` -> ``verify`` (bit-exact) -> ``inject`` with the chips software evaluated:
the C simulation errs exactly where the software model under the same chip errs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.hls, pytest.mark.slow]

CHIPS, P, N = (0, 1, 2), 0.01, 200


def berth(cwd: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "berth.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    return proc.stdout


def test_randbet_hardware_build_travels_to_hls_with_the_same_chips(tmp_path: Path) -> None:
    berth(tmp_path, "train", "--set", "model=mlp", "--set", "arch={hidden = [32]}", "--set", "scheme=fixed",
          "--set", "hw=true", "--set", "act_bits=8", "--set", "w_max=0.5", "--set", "train.method=randbet",
          "--set", "train.bet_p=0.01", "--set", "train.epochs=2", "--set", "chips=3", "--set", "p=[0.01]",
          "--set", "out=runs")
    (ckpt,) = tmp_path.glob("runs/train-*/checkpoint.pt")
    berth(tmp_path, "hls", "export", str(ckpt), "--out", "prj")
    assert "exact match 100.00%" in berth(tmp_path, "hls", "verify", "prj", "--n", str(N))
    berth(tmp_path, "hls", "inject", "prj", "--chip", *map(str, CHIPS), "--p", str(P), "--n", str(N))
    verify = json.loads((tmp_path / "prj" / "berth" / "verify.json").read_text())
    assert verify["exact_match"] == 1.0

    from berth.core.store import Store, workspace_store

    project_id = json.loads((tmp_path / "prj" / "berth" / "project.json").read_text())["project_id"]
    with Store(workspace_store()) as store:  # the session's workspace store (tests/conftest.py)
        rows = {r["chip"]: r for r in store.query("hls_inject") if r["project"] == project_id}
    assert sorted(rows) == list(CHIPS)
    for chip, row in rows.items():  # the chips RandomBitErrors(P, chip) gave the software evaluation
        assert row["p"] == P and row["exact_match"] == 1.0 and row["hw_error"] == row["sw_error"], row
