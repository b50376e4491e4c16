"""One record per trained model, Pareto fronts, plots and selection under a latency budget."""

import pytest

from berth.cli import main
from berth.core.errors import BerthError
from berth.hardware.latency.pareto import pareto_front, select
from berth.hardware.latency.records import LatencyQuery, model_records
from berth.hardware.latency.tables import open_store

# run label -> (clean error, {p: rerr}, float latency ms at batch 1)
RUNS = {"normal": (0.02, {0.001: 0.05, 0.01: 0.60}, 0.30),
        "rquant": (0.02, {0.001: 0.03, 0.01: 0.20}, 0.50),
        "randbet": (0.03, {0.001: 0.04, 0.01: 0.08}, 0.90)}


def make_store(path, with_cost: bool = True):
    with open_store(path) as store:
        for label, (err, rerr, ms) in RUNS.items():
            run_id = f"id-{label}"
            store.add_run({"run_id": run_id, "sweep": "t", "label": label, "model": "lenet", "scheme": "rquant",
                           "bits": 8, "method": "randbet" if label == "randbet" else "qat", "w_max": 0.0, "seed": 0,
                           "config": {"model_options": {"channels": [16, 32]}}, "clean_error": err,
                           "checkpoint": f"/nowhere/{label}.pt"})
            store.add_evaluation({"run_id": run_id, "errors": "random", "clean_error": err, "chips": 2},
                                 [(p, c, r + 0.01 * c) for p, r in rerr.items() for c in (0, 1)])
            store.insert("latency", {"model_key": "k", "run_id": run_id, "model": "lenet", "variant": "float",
                                     "deployable": 1, "device": "cpu", "dtype": "float32", "batch": 1, "threads": 1, "clock": "wall",
                                     "l2_flush": 0, "cuda_graph": 0, "ms_median": ms, "ms_per_image": ms,
                                     "rel_iqr": 0.02, "measured": "2026-01-01T00:00:00+00:00"})
        if with_cost:
            store.ensure_table("hls_cost", {"project": "TEXT", "checkpoint": "TEXT", "macs": "INTEGER",
                                            "weight_bits": "INTEGER", "bops": "INTEGER", "memory_words": "INTEGER"},
                               ("project",))
            store.insert("hls_cost", {"project": "p1", "checkpoint": "/nowhere/rquant.pt", "macs": 1234,
                                      "weight_bits": 800, "bops": 99, "memory_words": 25})
    return path


def test_records_join_robustness_energy_latency_and_cost(tmp_path):
    with open_store(make_store(tmp_path / "s.sqlite")) as store:
        recs = {r.label: r for r in model_records(store, LatencyQuery())}
        none = model_records(store, LatencyQuery(batch=64))
        assert all(r.latency_ms is None for r in model_records(store, LatencyQuery(clock="thread")))
    assert recs["rquant"].rerr[0.01] == pytest.approx(0.205)
    assert recs["rquant"].latency_ms == 0.5 and recs["rquant"].fpga["macs"] == 1234
    assert 0 < recs["normal"].energy_saving[0.001] < recs["normal"].energy_saving[0.01] < 1
    assert recs["normal"].missing == ["weight bits", "fpga cost"] and recs["rquant"].missing == ["weight bits"]
    assert recs["normal"].arch == {"channels": [16, 32]}
    assert all(r.latency_ms is None and any("latency" in m for m in r.missing) for r in none)
    flat = recs["rquant"].flat()
    assert flat["rerr_p0.01"] == pytest.approx(0.205) and flat["fpga_macs"] == 1234


def test_pareto_front():
    pts = [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 1.0), (0.5, 9.0)]
    assert pareto_front(pts) == [4, 0, 1, 3]
    assert pareto_front([(10.0, 2.0), (20.0, 3.0), (30.0, 1.0)], maximize_x=True) == [2]


def test_select_lowest_rerr_under_budget_and_impossible_budget(tmp_path):
    with open_store(make_store(tmp_path / "s.sqlite")) as store:
        recs = model_records(store)
    assert select(recs, 1.0, 0.01, "q").label == "randbet"
    assert select(recs, 0.6, 0.01, "q").label == "rquant"
    assert select(recs, 0.6, 0.001, "q").label == "rquant"
    with pytest.raises(BerthError, match=r"budget 0.1 ms.*fastest available is lenet/normal/8b at 0.3 ms"):
        select(recs, 0.1, 0.01, "q")
    with pytest.raises(BerthError, match=r"p = 0.05; stored p: 0.001, 0.01"):
        select(recs, 1.0, 0.05, "q")


def test_pareto_and_select_commands(tmp_path, capsys):
    store = str(make_store(tmp_path / "s.sqlite", with_cost=False))
    assert main(["pareto", "--store", store, "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert "rerr_p0.01" in (tmp_path / "out" / "records.csv").read_text()
    assert main(["select", "--latency-budget", "0.6", "--p", "0.01", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "run id-rquant" in out and "RErr 20.50%" in out
    assert "next: train it as a hardware build for berth hls export" in out  # not built with hw = true
    assert main(["select", "--latency-budget", "0.01", "--p", "0.01", "--store", store]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "0.01 ms" in err and "fastest available" in err
    assert main(["select", "--latency-budget", "1", "--p", "0.01", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["select", "--latency-budget", "1", "--p", "0.01", "--store", store, "--variant", "tensorrt"]) == 2
    assert "'tensorrt'" in capsys.readouterr().err


def test_records_carry_weight_bits_and_memory_energy_from_the_model_file(tmp_path):
    from berth.models.files import model_bytes
    from berth.models import create_model
    from berth.quant.inject import model_codes

    model = create_model("mlp", scheme="rquant", bits=4, hidden=(16,))
    path = tmp_path / "m.pt"
    path.write_bytes(model_bytes(model))
    with open_store(make_store(tmp_path / "s.sqlite")) as store:
        store.add_run({"run_id": "id-file", "sweep": "t", "label": "file", "model": "mlp", "scheme": "rquant", "bits": 4,
                       "method": "qat", "w_max": 0.0, "seed": 0, "clean_error": 0.1, "checkpoint": str(path)})
        store.add_evaluation({"run_id": "id-file", "errors": "random", "clean_error": 0.1, "chips": 1}, [(0.01, 0, 0.2)])
        rec = {r.label: r for r in model_records(store)}["file"]
    assert rec.weight_bits == sum(qt.codes.size * 4 for qt in model_codes(model).values()) > 0
    assert "weight bits" not in rec.missing
    assert rec.memory_energy(0.01) == pytest.approx(rec.weight_bits * (1 - rec.energy_saving[0.01]))
    assert rec.flat()["memory_energy_p0.01"] == pytest.approx(rec.memory_energy(0.01))


def test_cuda_query_matches_the_rows_the_profiler_stores():
    """``--device cuda`` selects the rows stored as cuda:0 (the device the profiler resolved)."""
    assert LatencyQuery("cuda").device == "cuda:0"
    assert LatencyQuery("cuda:1").device == "cuda:1" and LatencyQuery().device == "cpu"


def test_a_latency_advantage_inside_the_spread_declares_no_dominance():
    """A is 0.01 ms faster than B but worse in RErr; with latencies that spread by 0.1 ms the
    advantage is noise, so B alone is the front. C is slower beyond the spread and worse."""
    pts = [(0.99, 5.0), (1.00, 4.0), (1.50, 6.0)]
    assert pareto_front(pts) == [0, 1]
    assert pareto_front(pts, spread=[0.1, 0.1, 0.1]) == [1]


def test_a_trained_user_model_keeps_its_own_keyword_arguments_as_arch(tmp_path):
    """``berth train`` of a user's model stores its keyword arguments as ``arch`` (none, or
    e.g. a width): a record shows them, not a GENet architecture."""
    with open_store(make_store(tmp_path / "s.sqlite")) as store:
        for run_id, arch in (("id-plain", {}), ("id-wide", {"width": 32})):
            store.add_run({"run_id": run_id, "sweep": "", "label": "qat", "model": "my_cnn.py:Net", "scheme": "rquant",
                           "bits": 8, "method": "qat", "w_max": 0.0, "seed": 0, "clean_error": 0.1,
                           "config": {"arch": arch, "model": "my_cnn.py:Net"}})
        recs = {r.run_id: r for r in model_records(store)}
    assert recs["id-plain"].arch == {} and recs["id-wide"].arch == {"width": 32}
