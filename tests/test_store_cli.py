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
