"""One record per trained model: clean error, RErr at each p, energy at p, latency, FPGA cost.

Joined from the results store: ``runs`` (the model and how it was trained), ``robustness`` (mean
RErr over chips per p for one error model), ``berth.hardware.energy`` (SRAM energy saving at p), the
model's stored weight bits (from its checkpoint: elements x code width over its quantized layers,
so reading all weights once at rate p costs ``weight_bits x (1 - saving(p))`` bit reads at Vmin),
``latency`` (this package: by run_id, else by the model's structure key, for one device, batch,
dtype and variant) and, where ``berth hls`` stored them, ``hls_cost`` (MACs, weight bits,
bit-operations, memory words; joined on the checkpoint path) and ``hls_synth`` (csynth latency).
A piece that is missing stays None and is listed in ``missing``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from berth.core.errors import check_choice
from berth.hardware.latency.profiler import model_key, parse_dtype
from berth.hardware.latency.variants import VARIANTS


@dataclass(frozen=True)
class LatencyQuery:
    """Which latency a record carries: device, batch, dtype, variant and clock (threads: any)."""

    device: str = "cpu"
    batch: int = 1
    dtype: str = "float32"
    variant: str = "float"
    clock: str = "wall"

    def __post_init__(self) -> None:
        check_choice("variant", self.variant, VARIANTS)
        if self.device == "cuda":  # rows store the index the profiler resolved (the current device, 0)
            object.__setattr__(self, "device", "cuda:0")
        object.__setattr__(self, "dtype", "int8" if self.variant == "integer-ort" else parse_dtype(self.dtype))

    def describe(self) -> str:
        clock = "" if self.clock == "wall" else f", {self.clock} clock"
        return f"{self.variant} {self.dtype} batch {self.batch} on {self.device}{clock}"


@dataclass
class Record:
    """The joined record of one trained model (fractions in [0, 1], ms, cost counts)."""

    run_id: str
    sweep: str
    label: str
    model: str
    arch: dict
    bits: int
    scheme: str
    method: str
    w_max: float
    clean_error: float
    rerr: dict[float, float]
    energy_saving: dict[float, float]
    latency_ms: float | None = None
    latency_per_image_ms: float | None = None
    latency_rel_iqr: float | None = None
    weight_bits: int | None = None
    fpga: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    checkpoint: str | None = None
    dataset: str = "digits"  # what the model was trained (or measured) on, for exporting it with its data
    data_dir: str | None = None

    def name(self) -> str:
        return f"{self.model}/{self.label}/{self.bits}b"

    def memory_energy(self, p: float) -> float | None:
        """Energy of reading every weight once at rate ``p``, in bit reads at Vmin (None without weight bits)."""
        if self.weight_bits is None:
            return None
        return self.weight_bits * (1.0 - self.energy_saving[p])

    def flat(self) -> dict:
        """One flat row (for CSV): rerr_p<p> and saving_p<p> columns."""
        row = {k: v for k, v in self.__dict__.items() if k not in ("rerr", "energy_saving", "fpga", "arch", "missing")}
        row["arch"] = ";".join(f"{k}={v}" for k, v in sorted(self.arch.items()))
        row.update({f"rerr_p{p:g}": v for p, v in sorted(self.rerr.items())})
        row.update({f"energy_saving_p{p:g}": v for p, v in sorted(self.energy_saving.items())})
        row.update({f"memory_energy_p{p:g}": self.memory_energy(p) for p in sorted(self.energy_saving)})
        row.update({f"fpga_{k}": v for k, v in sorted(self.fpga.items())})
        row["missing"] = ";".join(self.missing)
        return row


def _rerr_means(store, run_id: str, errors: str) -> dict[float, float]:
    sums: dict[float, list[float]] = defaultdict(list)
    for r in store.query("robustness", {"run_id": run_id, "errors": errors}):
        sums[r["p"]].append(r["rerr"])
    return {p: sum(v) / len(v) for p, v in sorted(sums.items())}


def _arch(config: dict) -> dict:
    """The architecture options of a run: the sweep's model options, a searched GENet label, or
    the keyword arguments a trained model was built with (``arch``, any model's own)."""
    if config.get("model_options"):
        return dict(config["model_options"])
    if "search" in config:
        from berth.models.genet import GenetArch

        return {"arch": GenetArch.from_dict(config["arch"]).label()}
    return dict(config.get("arch") or {})


def _run_key(run: dict) -> str | None:
    """The structure key of a run's model, from its checkpoint or QONNX file (None if unreadable)."""
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file
    from berth.hardware.latency.qonnx_variants import qonnx_key
    from berth.models.files import model_config

    if is_qonnx_file(run.get("checkpoint") or ""):
        return qonnx_key(run["checkpoint"]) if Path(run["checkpoint"]).is_file() else None
    cfg = model_config(run["checkpoint"]) if run.get("checkpoint") else None
    return model_key(cfg, cfg.get("name", run["model"])) if cfg else None


def _latency(store, run: dict, q: LatencyQuery) -> dict | None:
    where = {"device": q.device, "batch": q.batch, "dtype": q.dtype, "variant": q.variant, "clock": q.clock}
    rows = store.query("latency", {**where, "run_id": run["run_id"]})
    if not rows:
        key = _run_key(run)
        rows = store.query("latency", {**where, "model_key": key}) if key else []
    return max(rows, key=lambda r: r["measured"]) if rows else None


def _weight_bits(run: dict) -> int | None:
    """Stored weight bits of the run's model (elements x code width), None if its file is unreadable;
    the model is a checkpoint or a QONNX file (a run of ``berth eval`` on one)."""
    from berth.core.errors import BerthError
    from berth.hardware.hls4ml.qonnx_in import is_qonnx_file, load_qonnx, qonnx_codes
    from berth.models.files import load_model
    from berth.quant.inject import model_codes

    if not run.get("checkpoint"):
        return None
    try:
        if is_qonnx_file(run["checkpoint"]):
            codes = qonnx_codes(load_qonnx(run["checkpoint"]))
        else:
            codes = model_codes(load_model(run["checkpoint"]))
    except BerthError:
        return None
    return sum(qt.codes.size * qt.bits for qt in codes.values())


def _fpga(store, run: dict) -> dict:
    tables = store.tables()
    if "hls_cost" not in tables or not run.get("checkpoint"):
        return {}
    mine = Path(run["checkpoint"]).resolve()
    rows = [r for r in store.query("hls_cost") if r.get("checkpoint") and Path(r["checkpoint"]).resolve() == mine]
    if not rows:
        return {}
    cost = rows[-1]
    out = {k: cost[k] for k in ("macs", "weight_bits", "bops", "memory_words") if k in cost}
    if "hls_synth" in tables:
        synth = store.query("hls_synth", {"design": "hls4ml", "config": cost["project"]})
        if synth:
            s = synth[-1]
            out["csynth_latency_cycles"] = s.get("latency_worst")
            clock = s.get("estimated_clock_ns") or s.get("target_clock_ns")
            if s.get("latency_worst") is not None and clock:
                out["csynth_latency_us"] = s["latency_worst"] * clock / 1000.0
    return out


def model_records(store, query: LatencyQuery = LatencyQuery(), errors: str = "random",
                  profile_path: str | Path | None = None) -> list[Record]:
    """One joined record per trained model in ``store`` (runs without robustness rows included)."""
    from berth.hardware.energy import DEFAULT_PROFILE, load_profile

    sram = load_profile(profile_path or DEFAULT_PROFILE)
    records = []
    for run in store.query("runs", order_by="sweep,label,bits,run_id"):
        rerr = _rerr_means(store, run["run_id"], errors)
        rec = Record(run["run_id"], run["sweep"], run["label"], run["model"], _arch(run.get("config") or {}),
                     run["bits"], run["scheme"], run["method"], run["w_max"], run["clean_error"], rerr,
                     {p: float(sram.saving(p)) for p in rerr})
        lat = _latency(store, run, query)
        if lat:
            rec.latency_ms, rec.latency_per_image_ms, rec.latency_rel_iqr = lat["ms_median"], lat["ms_per_image"], lat["rel_iqr"]
        rec.checkpoint = run.get("checkpoint")
        config = run.get("config") or {}
        where = (config.get("data") or {}).get("data_dir") or config.get("data_dir")  # absolute in the data identity
        rec.dataset, rec.data_dir = config.get("dataset") or "digits", where or None
        rec.weight_bits = _weight_bits(run)
        rec.fpga = _fpga(store, run)
        rec.missing = [what for what, ok in (("robustness", rerr), (f"latency ({query.describe()})", lat),
                                             ("weight bits", rec.weight_bits is not None), ("fpga cost", rec.fpga))
                       if not ok]
        records.append(rec)
    return records
