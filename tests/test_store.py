"""The results store: core tables, the table API for other subsystems, atomicity, concurrent writers."""

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from berth.core.errors import BerthError
from berth.core.store import Store


def test_core_tables_and_wal(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        assert {"sweeps", "runs", "evals", "robustness", "results"} <= set(store.tables())
        mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_table_api_roundtrip(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.ensure_table("latency", {"run_id": "TEXT", "batch": "INTEGER", "ms": "REAL", "extra": "JSON"},
                           key=("run_id", "batch"))
        assert store.insert("latency", [{"run_id": "a", "batch": 1, "ms": 2.5, "extra": {"k": [1, 2]}},
                                        {"run_id": "a", "batch": 8, "ms": 9.0}]) == 2
        assert store.insert("latency", {"run_id": "a", "batch": 1, "ms": 7.0}) == 0  # kept, not duplicated
        rows = store.query("latency", {"batch": [1, 8]}, order_by="batch")
        assert rows[0] == {"run_id": "a", "batch": 1, "ms": 2.5, "extra": {"k": [1, 2]}}
        assert store.insert("latency", {"run_id": "a", "batch": 1, "ms": 7.0}, on_conflict="replace") == 1
        assert store.query("latency", {"batch": 1})[0]["ms"] == 7.0
        store.ensure_table("latency", {"run_id": "TEXT", "device": "TEXT"})  # adds a column
        assert "device" in store.columns("latency")


@pytest.mark.parametrize("call, match", [
    (lambda s: s.ensure_table("bad name", {"a": "TEXT"}), "bad name"),
    (lambda s: s.ensure_table("t", {"a": "VARCHAR"}), "VARCHAR"),
    (lambda s: s.insert("nope", {"a": 1}), "nope"),
    (lambda s: s.query("runs", {"colour": 1}), "colour"),
    (lambda s: s.insert("runs", {"run_id": "x", "colour": 1}), "colour"),
])
def test_bad_use_is_one_line_error(tmp_path, call, match):
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(BerthError, match=match) as exc:
            call(store)
        assert "\n" not in str(exc.value)


def test_evaluation_is_atomic(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(Exception):
            store.add_evaluation({"run_id": "r", "errors": "random"}, [(0.01, 0, 0.1), (0.01, "bad", None)])
        assert store.query("evals") == [] and store.query("robustness") == []
        assert store.add_evaluation({"run_id": "r", "errors": "random"}, [(0.01, 0, 0.1), (0.01, 1, 0.2)])
        assert not store.add_evaluation({"run_id": "r", "errors": "random"}, [(0.01, 0, 0.1)])
        assert store.stored_points("r", "random") == {(0.01, 0), (0.01, 1)}
        assert len(store.query("robustness")) == 2


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BerthError, match="not a usable SQLite"):
        Store(path)


WRITER = textwrap.dedent("""
    import sys
    from berth.core.store import Store
    path, who = sys.argv[1], int(sys.argv[2])
    store = Store(path)
    for i in range(150):
        # half the keys are shared by both writers, half are this writer's own
        run = f"run{i % 30}" if i % 2 else f"w{who}-{i}"
        store.add_evaluation({"run_id": run, "errors": "random", "clean_error": 0.1},
                             [(0.01, c, 0.1 * c) for c in range(5)])
        store.insert("runs", {"run_id": run, "sweep": "s", "config": {"i": i}})
""")


def test_two_writers_at_once_do_not_corrupt(tmp_path):
    path = tmp_path / "shared.sqlite"
    Store(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w)]) for w in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        evals = db.execute("SELECT COUNT(*) FROM evals").fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM robustness").fetchone()[0]
        runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    keys = {f"run{i % 30}" if i % 2 else f"w{w}-{i}" for w in (1, 2) for i in range(150)}
    expected_evals = len(keys)  # each writer's own 75 keys + 15 shared ones, once each
    assert evals == expected_evals and rows == 5 * expected_evals and runs == expected_evals
