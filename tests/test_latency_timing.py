"""Latency statistics, the timer abstraction, warm-up by time and the CUDA path's logic (on CPU)."""

import pytest
import torch

from berth.core.errors import BerthError
from berth.hardware.latency.cuda import check_device, parse_smi
from berth.hardware.latency.profiler import ProfileSettings, parse_dtype
from berth.hardware.latency.stats import summarize
from berth.hardware.latency.timing import Timer, cpu_samples, event_samples, num_threads, wall_timer, warmup_by_time

NO_CUDA = not torch.cuda.is_available()


class FakeClock:
    """A clock that only moves when told to (ns for events, s for warm-up)."""

    def __init__(self):
        self.ns = 0

    def advance_ms(self, ms: float) -> None:
        self.ns += int(ms * 1e6)

    def seconds(self) -> float:
        return self.ns / 1e9


class FakeEvent:
    def __init__(self, clock: FakeClock):
        self.clock, self.stamp = clock, None

    def record(self) -> None:
        self.stamp = self.clock.ns

    def elapsed_time(self, end: "FakeEvent") -> float:
        return (end.stamp - self.stamp) / 1e6


def test_summarize_quartiles_and_p90():
    s = summarize([5.0, 1.0, 4.0, 2.0, 3.0])
    assert (s.n, s.median, s.q1, s.q3, s.iqr, s.minimum, s.maximum) == (5, 3.0, 2.0, 4.0, 2.0, 1.0, 5.0)
    assert s.p90 == pytest.approx(4.6)
    assert s.rel_iqr == pytest.approx(2 / 3)
    assert s.as_dict()["rel_iqr"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("bad", [[], [1.0, -2.0], [float("nan")]])
def test_summarize_rejects_bad_samples(bad):
    with pytest.raises(BerthError):
        summarize(bad)


def test_warmup_runs_for_a_time_not_a_count():
    clock = FakeClock()
    calls = warmup_by_time(lambda: clock.advance_ms(100), 1.0, clock=clock.seconds)
    assert calls == 10
    syncs = []
    assert warmup_by_time(lambda: None, 0.0, synchronize=lambda: syncs.append(1), clock=clock.seconds, min_calls=3) == 3
    assert len(syncs) == 3
    with pytest.raises(BerthError, match="warm-up"):
        warmup_by_time(lambda: None, -1.0)


def test_event_samples_time_each_call_and_keep_before_outside():
    clock, syncs = FakeClock(), []
    timer = Timer("fake", lambda: FakeEvent(clock), lambda: syncs.append(1))
    durations = iter([1.0, 2.0, 3.0, 4.0])
    samples = event_samples(lambda: clock.advance_ms(next(durations)), timer, 4,
                            before=lambda: clock.advance_ms(100.0))
    assert samples == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert len(syncs) == 2  # once before the loop, once after: never inside
    with pytest.raises(BerthError, match="repeats"):
        event_samples(lambda: None, timer, 0)


def test_wall_timer_stand_in_and_cpu_path_record_threads():
    samples = event_samples(lambda: sum(range(100)), wall_timer(), 5)
    assert len(samples) == 5 and all(s >= 0 for s in samples)
    before = torch.get_num_threads()
    got = cpu_samples(lambda: torch.ones(8) * 2, threads=1, repeats=5, block_s=0.0005, warmup_s=0.0)
    assert len(got.samples_ms) == 5 and got.threads == 1 and got.number >= 1
    assert torch.get_num_threads() == before
    with pytest.raises(BerthError, match="threads"):
        with num_threads(0):
            pass


def test_thread_clock_needs_one_thread_and_measures_cpu_time():
    from berth.hardware.latency.timing import thread_timer

    got = cpu_samples(lambda: torch.ones(8) * 2, threads=1, repeats=5, block_s=0.0005, warmup_s=0.0, clock="thread")
    assert len(got.samples_ms) == 5 and all(s >= 0 for s in got.samples_ms)
    assert len(event_samples(lambda: sum(range(100)), thread_timer(), 3)) == 3
    with pytest.raises(BerthError, match="threads = 1, not 2"):
        ProfileSettings(clock="thread", threads=2)
    with pytest.raises(BerthError, match="'sundial'"):
        cpu_samples(lambda: None, threads=1, clock="sundial")


@pytest.mark.parametrize("alias,name", [("fp32", "float32"), ("FP16", "float16"), ("half", "float16"),
                                        ("bf16", "bfloat16"), ("bfloat16", "bfloat16")])
def test_dtype_aliases(alias, name):
    assert parse_dtype(alias) == name


def test_unknown_dtype_names_the_value():
    with pytest.raises(BerthError, match="'fp8'.*float32"):
        ProfileSettings(dtypes=("fp8",))


@pytest.mark.parametrize("kw,match", [({"batches": (0,)}, "batch size 0"), ({"variants": ("tensorrt",)}, "'tensorrt'"),
                                      ({"repeats": 2}, "repeats"), ({"threads": 0}, "threads")])
def test_settings_reject_bad_values(kw, match):
    with pytest.raises(BerthError, match=match):
        ProfileSettings(**kw)


@pytest.mark.skipif(not NO_CUDA, reason="a GPU is present")
def test_cuda_without_gpu_is_a_one_line_error():
    with pytest.raises(BerthError, match="'cuda' is not available") as err:
        check_device("cuda")
    assert "\n" not in str(err.value)


def test_unknown_device_names_the_value():
    with pytest.raises(BerthError, match="'tpu'"):
        check_device("tpu")
    assert check_device("cpu").type == "cpu"


def test_parse_nvidia_smi_line():
    line = "NVIDIA H200, 570.86.15, 1980, 3201, 1980, 3201, 0x0000000000000000, 41, 118.52, P0"
    got = parse_smi(line)
    assert got["name"] == "NVIDIA H200" and got["driver_version"] == "570.86.15"
    assert got["clocks.sm"] == 1980.0 and got["power.draw"] == pytest.approx(118.52)
    assert got["clocks_throttle_reasons.active"] == "0x0000000000000000" and got["pstate"] == "P0"
    assert parse_smi("A100, 1, [N/A], 2, 3, 4, 0x1, 30, [Not Supported], P2")["clocks.sm"] is None
    with pytest.raises(ValueError):
        parse_smi("too, few")


@pytest.mark.cuda
@pytest.mark.skipif(NO_CUDA, reason="needs an NVIDIA GPU")
@pytest.mark.parametrize("flush,graph", [(False, False), (True, True)])
def test_cuda_profile_runs_on_a_gpu(flush, graph):
    from berth.hardware.latency.profiler import profile_model
    from berth.models import create_model

    s = ProfileSettings(device="cuda", batches=(1, 64), dtypes=("fp32", "fp16", "bf16"), variants=("simulation", "float"),
                        repeats=20, warmup_s=0.1, l2_flush=flush, cuda_graph=graph)
    prof = profile_model(create_model("lenet"), (1, 8, 8), s, "lenet", progress=lambda _: None)
    floats = [r for r in prof.rows if r["variant"] == "float"]
    assert {r["dtype"] for r in floats} == {"float32", "float16", "bfloat16"}
    assert all(r["timer"] == "cuda-events" and r["ms_median"] > 0 for r in prof.rows)
    assert prof.rows[0]["env"]["gpu"] and prof.rows[0]["env"]["cuda"]
