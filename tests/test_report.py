"""Reports from a store: the paper's table, paired comparisons, plots that exist."""

import numpy as np

from berth.flows.report import paired_table, paper_table, summaries, write_report
from berth.core.store import Store

LABELS = ["normal", "clipping"]


def fill(store: Store) -> None:
    """Two methods x two bit widths, 10 chips at 4 rates; clipping is better on every chip."""
    rng = np.random.default_rng(0)
    for label in LABELS:
        for bits in (8, 4):
            run = f"{label}{bits}"
            store.add_run({"run_id": run, "sweep": "s", "label": label, "model": "lenet", "scheme": "rquant",
                           "bits": bits, "method": "qat", "w_max": 0.0, "seed": 0, "config": {}})
            base = 0.02 if label == "clipping" else 0.05
            rows = [(p, c, base + p * 5 * (1 + 0.1 * rng.random())) for p in (0.001, 0.005, 0.01, 0.025) for c in range(10)]
            store.add_evaluation({"run_id": run, "errors": "random", "clean_error": base}, rows)


def test_tables_and_plots(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        fill(store)
        rows = store.query("results", {"sweep": "s"})
        assert len(rows) == 4 * 4 * 10
        table = paper_table(rows, LABELS)
        assert "RErr % p=0.1%" in table and "RErr % p=2.5%" in table and table.count("\n") == 5
        s = summaries(rows)[("random", "lenet", 8, "clipping", 0)][0.01]
        assert s.n == 10 and s.ci_low <= s.mean <= s.ci_high
        pairs = paired_table(rows, [("clipping", "normal")])
        assert "10 / 0 / 0" in pairs
        md = write_report(store, "s", tmp_path / "report", LABELS, [("clipping", "normal")])
    text = md.read_text()
    assert "![RErr vs p](rerr_vs_p.png)" in text and "energy saving" in text
    for png in ("rerr_vs_p.png", "rerr_vs_energy.png"):
        data = (tmp_path / "report" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_table_shows_the_sweeps_own_rates_and_only_the_papers_of_many(tmp_path):
    """A user's rates all appear; a sweep of many rates keeps the paper's four in the main table."""
    def rows_at(rates):
        return [{"errors": "random", "model": "m", "bits": 8, "label": "normal", "seed": 0, "p": p, "chip": c,
                 "clean_error": 0.1, "rerr": 0.1 + p + 0.01 * c} for p in rates for c in range(3)]

    table = paper_table(rows_at((0.01, 0.02)), ["normal"])
    assert "RErr % p=1%" in table and "RErr % p=2%" in table
    many = paper_table(rows_at((0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025)), ["normal"])
    assert many.count("RErr %") == 4 and "p=2%" not in many


def test_empty_sweep_report(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        md = write_report(store, "nothing", tmp_path / "r")
    assert "No results" in md.read_text()


def test_report_command(tmp_path, capsys):
    from berth.cli import main

    with Store(tmp_path / "s.sqlite") as store:
        fill(store)
    (tmp_path / "s.toml").write_text('name = "s"\n')
    assert main(["report", str(tmp_path / "s.toml"), "--store", str(tmp_path / "s.sqlite"),
                 "--out", str(tmp_path / "rep")]) == 0
    assert f"report: {tmp_path / 'rep' / 'report.md'}" in capsys.readouterr().out
    assert (tmp_path / "rep" / "rerr_vs_p.png").exists()
    assert main(["report", str(tmp_path / "s.toml"), "--store", str(tmp_path / "none.sqlite")]) == 2
