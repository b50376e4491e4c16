"""Per-layer configurations, the lookup table in the store, the predictor, GENet blocks and the block study."""

import random

import pytest
import torch
from torch import nn

from berth.hardware.latency import blocks
from berth.models.genet import Block, GenetArch, PlainFactory, Stage, flops, plain_model, quant_model, random_arch
from berth.hardware.latency.layers import LatencyTable, hook_times, layer_calls, predict
from berth.hardware.latency.stats import summarize
from berth.hardware.latency.tables import open_store
from berth.hardware.latency.timing import wall_timer

ARCH = GenetArch(8, (Stage("XX", 8, 1, 1), Stage("BL", 16, 1, 2), Stage("DW", 16, 2, 2)))
COST = {"conv": 0.5, "batchnorm": 0.1, "relu": 0.01, "add": 0.02}


def fake_measure(calls: list):
    """A measurer whose answer depends only on the op (recorded per call)."""
    def measure(fn):
        out = fn()
        calls.append(out)
        return summarize([COST.get(getattr(measure, "op", ""), 0.05)]), 1
    return measure


def test_layer_calls_see_every_leaf_with_its_configuration():
    calls = layer_calls(plain_model(ARCH), torch.rand(2, 1, 8, 8))
    ops = [c.config.op for c in calls]
    assert ops.count("add") == 4 and ops[-1] == "linear" and "avgpool" in ops
    dw = [c.config for c in calls if c.config.op == "conv" and c.config.groups > 1]
    assert dw and all(c.groups == c.cin == c.cout == 48 for c in dw)
    strided = [c.config for c in calls if c.config.op == "conv" and c.config.stride == 2]
    assert {(c.h, c.w) for c in strided} == {(8, 8), (4, 4)}
    assert all(c.config.batch == 2 for c in calls)


def test_table_measures_missing_entries_once_and_predictor_sums_them(tmp_path):
    net, x = plain_model(ARCH), torch.rand(1, 1, 8, 8)
    calls = layer_calls(net, x)
    with open_store(tmp_path / "s.sqlite") as store:
        measured = []
        table = LatencyTable(store, fake_measure(measured), torch.device("cpu"), "float32", 1)
        total, parts = predict(calls, table)
        assert total == pytest.approx(sum(parts)) and len(parts) == len(calls)
        unique = len({c.config for c in calls})
        assert table.measured == unique == len(measured) == len(store.query("layer_latency"))
        again = LatencyTable(store, fake_measure([]), torch.device("cpu"), "float32", 1)
        assert predict(calls, again)[0] == pytest.approx(total) and again.measured == 0
        other = LatencyTable(store, fake_measure([]), torch.device("cpu"), "bfloat16", 1)
        assert not other.entries


def test_hook_times_one_per_call():
    net, x = plain_model(ARCH), torch.rand(1, 1, 8, 8)
    times = hook_times(net, x, wall_timer(), repeats=3, warmup=1)
    assert len(times) == len(layer_calls(net, x)) and all(t >= 0 for t in times)


def test_flops_and_quantized_twin():
    conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False))
    assert flops(conv, (1, 8, 8)) == 2 * 8 * 64 * 9
    dw = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False))
    assert flops(dw, (8, 8, 8)) == 2 * 8 * 64 * 9
    q = quant_model(ARCH, bits=4)
    assert flops(q, (1, 8, 8)) == flops(plain_model(ARCH), (1, 8, 8))
    assert q(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    assert GenetArch.from_dict(ARCH.as_dict()) == ARCH


def test_random_arch_is_seeded_and_widths_do_not_shrink():
    a = [random_arch(random.Random(3)) for _ in range(2)]
    assert a[0] == a[1]
    for arch in (random_arch(random.Random(s)) for s in range(20)):
        widths = [s.width for s in arch.stages]
        assert widths == sorted(widths) and all(s.block in ("XX", "BL", "DW") for s in arch.stages)


def test_block_study_table_plot_and_verdict(tmp_path):
    def measure(fn):
        fn()
        return summarize([1.0, 1.1, 1.2]), 1
    results = blocks.run_study(measure, 1, [(8, 8), (4, 16)], torch.float32, torch.device("cpu"), progress=lambda _: None)
    assert [(r.stage, r.block) for r in results] == [(s, b) for s in (1, 2) for b in ("XX", "BL", "DW")]
    # equal latency everywhere: the block with the most FLOPs (XX) has the most FLOPs per ms
    assert blocks.verdict(results).startswith("reproduced")
    slow_xx = [blocks.BlockResult(r.block, r.stage, r.h, r.width, r.flops, r.ms * (100 if r.block == "XX" else 1), 0.0)
               for r in results]
    assert blocks.verdict(slow_xx).startswith("refuted at stage 1")
    noisy = [blocks.BlockResult(r.block, r.stage, r.h, r.width, r.flops, r.ms, 2 * r.ms * 0.99) for r in results]
    assert blocks.verdict(noisy).startswith("not refuted") and "within the IQR noise" in blocks.verdict(noisy)
    blocks.plot(results, tmp_path / "b.png", "test")
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert "| 1 | 8x8 | 8 | XX |" in blocks.markdown(results)
    rows = blocks.rows(results, 1, "float32", "cpu", 1)
    with open_store(tmp_path / "s.sqlite") as store:
        assert store.insert("block_study", rows) == 6
    assert blocks.stage_table(0.25) == [(56, 32), (28, 48), (14, 160), (7, 160)]


def test_block_types_shapes():
    f = PlainFactory()
    for kind in ("XX", "BL", "DW"):
        b = Block(f, "b", kind, 8, 16, 2).eval()
        assert b(torch.rand(1, 8, 8, 8)).shape == (1, 16, 4, 4)


def test_container_calls_are_counted_and_priced(tmp_path):
    from berth.hardware.latency.calibration import predict_model
    from berth.hardware.latency.layers import CONTAINER, container_calls

    net, x = plain_model(ARCH), torch.rand(1, 1, 8, 8)
    # the model, its stem, the blocks Sequential; per block the block and its body; two projection shortcuts
    assert container_calls(net, x) == 3 + 2 * 4 + 2
    with open_store(tmp_path / "s.sqlite") as store:
        table = LatencyTable(store, fake_measure([]), torch.device("cpu"), "float32", 1)
        leaves = predict(layer_calls(net, x), table)[0]
        assert predict_model(net, x, table) == pytest.approx(leaves + 13 * table.container())
        assert table.container() == 0.0 and CONTAINER in table.entries  # equal fake times: no overhead


def test_table_statistic_min_or_median(tmp_path):
    def measure(fn):
        fn()
        return summarize([1.0, 2.0, 3.0]), 1

    calls = layer_calls(plain_model(ARCH), torch.rand(1, 1, 8, 8))
    with open_store(tmp_path / "s.sqlite") as store:
        low = LatencyTable(store, measure, torch.device("cpu"), "float32", 1, statistic="min")
        assert predict(calls, low)[1] == [1.0] * len(calls)
        mid = LatencyTable(store, measure, torch.device("cpu"), "float32", 1)
        assert mid.measured == 0 and predict(calls, mid)[1] == [2.0] * len(calls)
        with pytest.raises(Exception, match="'p10'"):
            LatencyTable(store, measure, torch.device("cpu"), "float32", 1, statistic="p10")


def test_calibration_is_the_median_ratio_and_needs_three_models():
    from berth.core.errors import BerthError
    from berth.hardware.latency.calibration import fit

    cal = fit([1.0, 2.0, 4.0, 1.0], [1.2, 2.6, 5.0, 1.3])
    assert cal.scale == pytest.approx(1.275) and cal.models == 4 and cal.ratio_q1 <= cal.scale <= cal.ratio_q3
    with pytest.raises(BerthError, match="at least 3 models"):
        fit([1.0, 2.0], [1.0, 2.0])


def test_stored_calibration_scales_every_prediction(tmp_path):
    from berth.hardware.latency.calibration import calibrate, calibration_archs, load
    from berth.hardware.latency.calibration import predict_model
    from berth.hardware.latency.layers import predict_model_raw

    shape = (1, 8, 8)
    net, x = plain_model(ARCH), torch.rand(1, *shape)
    with open_store(tmp_path / "s.sqlite") as store:
        table = LatencyTable(store, fake_measure([]), torch.device("cpu"), "float32", 1)
        raw = predict_model_raw(net, x, table)
        assert load(table, 1) is None and predict_model(net, x, table) == pytest.approx(raw)
        archs = calibration_archs(3, seed=0, shape=shape)
        assert len({a.label() for a in archs}) == 3

        def end_to_end(fn):  # every model "measures" 9 ms
            fn()
            return summarize([9.0]), 1

        cal = calibrate(table, end_to_end, archs, shape)
        again = LatencyTable(store, fake_measure([]), torch.device("cpu"), "float32", 1)
        assert load(again, 1) == cal and load(again, 64) is None
        assert predict_model(net, x, again) == pytest.approx(cal.scale * raw)


def test_end_to_end_measurements_run_on_the_tables_device_and_dtype(tmp_path):
    """Calibration and the benchmark time whole models where the table's entries were timed."""
    net, x = plain_model(ARCH), torch.rand(1, 1, 8, 8)
    with open_store(tmp_path / "s.sqlite") as store:
        table = LatencyTable(store, fake_measure([]), torch.device("cpu"), "bfloat16", 1)
        model, inputs = table.on_target(net, x)
    assert inputs.dtype == torch.bfloat16 and inputs.device.type == "cpu"
    assert all(p.dtype == torch.bfloat16 for p in model.parameters()) and not model.training
    assert all(p.dtype == torch.float32 for p in net.parameters())  # the caller's model is left alone
