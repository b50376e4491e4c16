"""``berth results``: list, filter, export CSV and JSON."""

import csv
import io
import json

from berth.cli import main
from berth.core.store import Store


def make_store(path):
    with Store(path) as store:
        for label in ("a", "b"):
            store.add_run({"run_id": label, "sweep": "s", "label": label, "model": "mlp", "scheme": "rquant",
                           "bits": 8, "method": "qat", "w_max": 0.0, "seed": 0, "config": {"x": 1}})
            store.add_evaluation({"run_id": label, "errors": "random", "clean_error": 0.1},
                                 [(p, c, 0.2) for p in (0.01, 0.1) for c in range(3)])


def test_list_filter_export(tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    make_store(path)
    assert main(["results", str(path)]) == 0
    out = capsys.readouterr().out
    assert "20.00 [20.00, 20.00]" in out and "Err %" in out and "4 rows (run x error model x p)" in out
    assert main(["results", str(path), "--table", "runs"]) == 0
    out = capsys.readouterr().out
    assert "2 rows in runs" in out and "mlp" in out
    assert main(["results", str(path), "--table", "results", "--where", "label=a", "--where", "p=0.01",
                 "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3 and {r["label"] for r in rows} == {"a"} and rows[0]["rerr"] == "0.2"
    target = tmp_path / "all.json"
    assert main(["results", str(path), "--table", "results", "--where", "label=a,b", "--json", str(target)]) == 0
    assert len(json.loads(target.read_text())) == 12


def test_bad_store_and_column(tmp_path, capsys):
    assert main(["results", str(tmp_path / "missing.sqlite")]) == 2
    make_store(tmp_path / "r.sqlite")
    assert main(["results", str(tmp_path / "r.sqlite"), "--where", "colour=red"]) == 2
    assert "colour" in capsys.readouterr().err


def test_parquet_round_trip_into_pandas(tmp_path):
    import numpy as np
    import pandas as pd

    import berth.results

    path = tmp_path / "r.sqlite"
    make_store(path)
    assert main(["results", str(path), "--out", str(tmp_path / "r.parquet"), "--format", "parquet"]) == 0
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert back.equals(berth.results.load(path)) and len(back) == 12 and set(back["label"]) == {"a", "b"}
    summary = berth.results.summary(path)
    assert len(summary) == 4 and np.allclose(summary["rerr_mean"], 0.2) and (summary["chips"] == 3).all()
