"""The main job runs end to end on the embedded data and records its provenance."""

import json

from berth.cli import main


def test_eval_writes_results(tmp_path, capsys):
    rc = main(["eval", "--set", "epochs=2", "--set", "chips=3", "--set", "p=[0.01]", "--set", f"out='{tmp_path}'"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "normal" in out and "rquant" in out
    (path,) = tmp_path.glob("eval-*/results.json")
    record = json.loads(path.read_text())
    assert {r["scheme"] for r in record["results"]} == {"normal", "rquant"}
    assert len(record["results"][0]["rerr"]) == 3
    assert record["provenance"]["seeds"]["seed"] == 0 and "torch" in record["provenance"]["versions"]
