"""The block matcher's pipelines: match an image, simulate the RTL, synthesize, predict throughput,
write and C-simulate the HLS kernel, denoise with BM3D, and the study of hardware savings.

Each function takes plain values, does the work, writes its outputs atomically and returns what
the command line prints; ``berth bm`` only parses flags and prints.
"""

from __future__ import annotations

import difflib
import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from berth.core.errors import BerthError, check_range
from berth.core.files import atomic_directory, atomic_write_bytes, atomic_write_json
from berth.core.provenance import provenance
from berth.hardware.blockmatch import BMParams, MatchResult, block_match


DEFAULT_SIZE = "256x256"  # a built-in stimulus's crop (HxW) unless --size says otherwise
MAX_SIZE = (4320, 7680)  # the largest built-in stimulus: an 8K UHD frame


def load_image(spec: str, size: str | None = None, seed: int = 0) -> np.ndarray:
    """An image file as 8-bit grayscale (colour converted with the luma weights, as ``berth bm
    denoise`` reads it), or a built-in stimulus name cropped to ``size`` (HxW; default 256x256,
    which a file refuses: it is taken whole)."""
    from berth.hardware.blockmatch.stimuli import ALL_STIMULI, stimulus
    from berth.hardware.bm3d.images import load_gray8

    path = Path(spec)
    if path.is_dir():
        raise BerthError(f"IMAGE {spec!r} is a folder; expected an image file or a built-in stimulus")
    if path.exists() and size is not None:
        raise BerthError(f"--size {size!r} crops a built-in stimulus; IMAGE {spec!r} is a file, taken whole")
    if not path.exists():
        try:
            h, w = (int(v) for v in (size or DEFAULT_SIZE).lower().split("x"))
        except ValueError:
            raise BerthError(f"--size {size!r} is not HxW, e.g. 256x256") from None
        if not (1 <= h <= MAX_SIZE[0] and 1 <= w <= MAX_SIZE[1]):
            raise BerthError(f"--size {size!r} is not allowed; allowed: 1x1 .. {MAX_SIZE[0]}x{MAX_SIZE[1]}")
        if spec.split("-s")[0] not in {s.split("-s")[0] for s in ALL_STIMULI}:
            raise BerthError(f"IMAGE {spec!r} is neither a file nor a built-in stimulus "
                             f"({', '.join(ALL_STIMULI)})")
        return stimulus(spec, h, w, seed)
    return load_gray8(path)


@dataclass
class MatchRun:
    """Golden-model matches of one image and the files written for them."""

    result: MatchResult
    seconds: float
    reference: int
    matches: Path
    png: Path


def match_image(image: np.ndarray, params: BMParams, out: Path, ref: tuple[int, int] | None = None) -> MatchRun:
    """Match ``image`` with the golden model; save the matches and a PNG of the group nearest ``ref``."""
    from berth.hardware.blockmatch.plot import nearest_reference, plot_matches

    start = time.perf_counter()
    result = block_match(image, params)
    seconds = time.perf_counter() - start
    y, x = ref if ref is not None else (image.shape[0] // 2, image.shape[1] // 2)
    index = nearest_reference(result, y, x)
    buf = io.BytesIO()
    np.savez_compressed(buf, refs=result.refs, offsets=result.offsets, dist=result.dist, count=result.count)
    matches = atomic_write_bytes(out / "matches.npz", buf.getvalue())
    png = plot_matches(image, result, params, index, out / "matches.png")
    return MatchRun(result, seconds, index, matches, png)


def simulate(simulator: str, seed: int, every_image: bool, out: Path) -> tuple[list[dict], Path]:
    """RTL == golden on every configuration of the suite; rows and the JSON file they went to."""
    from berth.sim.suite import simulate_all

    rows = simulate_all(simulator, seed, every_image)
    return rows, atomic_write_json(out / "sim.json", rows)


SIM_SETTINGS = ("block", "window", "stride", "metric", "k", "tau", "p", "d", "g")


def sim_config(shape: tuple[int, int], settings: list[str]):
    """The RTL build for a frame of ``shape`` with ``NAME=VALUE`` settings (matcher parameters and
    P, D, G; defaults: BM3D's hard-threshold stage on the 1080p configuration's parallelism)."""
    from berth.hardware.blockmatch.params import RTLConfig
    from berth.hardware.blockmatch.perf import DESIGN_1080P

    values: dict[str, Any] = {"p": DESIGN_1080P.p, "d": DESIGN_1080P.d, "g": DESIGN_1080P.g}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or name not in SIM_SETTINGS:
            close = difflib.get_close_matches(name, SIM_SETTINGS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if sep and close else ""
            raise BerthError(f"--set {item!r} is not NAME=VALUE with NAME one of {', '.join(SIM_SETTINGS)}{hint}")
        if name == "metric":
            values[name] = value
            continue
        try:
            values[name] = int(value)
        except ValueError:
            raise BerthError(f"--set {item!r}: {name} must be an integer") from None
    params = BMParams(**{k: v for k, v in values.items() if k not in ("p", "d", "g")})
    given = {item.partition("=")[0] for item in settings}
    for name in ("p", "d"):  # the defaults shrink to a smaller window; a value given must fit it
        values[name] = values[name] if name in given else min(values[name], params.window)
    cfg = RTLConfig(h=shape[0], w=shape[1], params=params, p=values["p"], d=values["d"], g=values["g"])
    cfg.parameters()  # validates P, D, G and the frame size
    return cfg


def simulate_image(image: np.ndarray, settings: list[str], out: Path) -> tuple[dict, Path]:
    """One frame natively simulated on the RTL: records against the golden model, cycles against
    the cycle model; the row and the JSON file it went to."""
    from berth.hardware.blockmatch.perf import Units, cycles_per_frame
    from berth.sim.native import mismatches, run_native

    cfg = sim_config(image.shape, settings)
    native = run_native(cfg, image)
    diffs = mismatches(native.result, block_match(image, cfg.params))
    model = cycles_per_frame(cfg.h, cfg.w, cfg.params, Units(cfg.p, cfg.d, cfg.g))
    row = {"run": f"native verilator {cfg.h}x{cfg.w}", "passed": not diffs and native.cycles == model,
           "detail": (diffs[0] if diffs else "bit-exact") + f"; {native.cycles} cycles/frame (model {model})",
           "h": cfg.h, "w": cfg.w, "p": cfg.p, "d": cfg.d, "g": cfg.g, "params": asdict(cfg.params),
           "cycles": native.cycles, "model_cycles": model, "seconds": native.seconds}
    return row, atomic_write_json(out / "sim-image.json", row)


def synthesize_sets(sets: str, out: Path, source: Path | None = None) -> tuple[list, Path]:
    """Yosys estimates (resources and longest path) of one named list of configurations of the
    core or of ``source``; the results and their JSON file."""
    from berth.core.progress import bar
    from berth.hardware.blockmatch.synth import SETS, synthesize

    check_source(source)
    results = []
    for i, cfg in enumerate(bar(SETS[sets], desc="yosys synth_xilinx", unit="set")):
        work = out / "synth" / f"set{i}-{cfg.tag(*([source] if source else []))}"
        results.append(synthesize(cfg, work, source))
    return results, atomic_write_json(out / "synth.json", [r.row() for r in results])


def check_source(source: Path | None) -> None:
    """A ``--source`` Verilog file must exist (checked before any tool runs)."""
    if source is not None and not source.is_file():
        raise BerthError(f"--source {str(source)!r} is not a file")


def ice40_small(out: Path, source: Path | None = None):
    """nextpnr-ice40 Fmax of the small iCE40 configuration, of this core or of ``source`` (e.g. an
    earlier version of ``rtl/blockmatch.sv``, given only the parameters it declares)."""
    import re

    from berth.hardware.blockmatch.synth import ICE40_SMALL, ice40_fmax

    params = ICE40_SMALL.parameters()
    check_source(source)
    if source is not None:
        declared = set(re.findall(r"parameter\s+int\s+(\w+)", source.read_text()))
        params = {k: v for k, v in params.items() if k in declared}
    return ice40_fmax(ICE40_SMALL, out / "ice40" / ("source" if source else "core"), source, params)


DEFAULT_SIM_RESULTS = Path("runs") / "bm" / "sim.json"  # where 'berth bm sim' writes its suite's rows


def throughput_rows(params: BMParams, units, clock_mhz: float, sim_results: Path | None = None) -> tuple[str, list]:
    """Frames per second at standard sizes for ``units`` (a ``perf.Units``); when ``sim_results``
    (``simulate``'s or ``simulate_image``'s file; unset: the suite's, if there is one) holds a
    simulated frame of the same design, the cycle model is checked against it (and scaled by
    measured / modelled cycles, 1 when the model is exact)."""
    from berth.hardware.blockmatch.perf import Units, cycles_per_frame, frame_period, throughput

    check_range("clock MHz", clock_mhz, 1, 2000)
    check_range("offset rows per pass P", units.p, 1, params.window)
    check_range("offset columns per pass D", units.d, 1, params.window)
    check_range("references per group G", units.g, 1, 64)
    scale, note = 1.0, "cycle model only (run 'berth bm sim' to check it against a simulated frame)"
    rows = _sim_rows(sim_results)
    if rows is None:
        return note, throughput(params, units, clock_mhz, scale)
    note = f"cycle model only (no simulated frame of this design in {str(sim_results or DEFAULT_SIM_RESULTS)!r})"
    for r in (r for r in rows if r.get("cycles")):
        if r["params"] == {k: getattr(params, k) for k in r["params"]} and Units(r["p"], r.get("d", 0),
                                                                               r.get("g", 0)) == units:
            model = cycles_per_frame(r["h"], r["w"], params, units)
            scale = r["cycles"] / model
            note = (f"simulated {r['h']}x{r['w']} frame: {r['cycles']} cycles, model {model} "
                    + ("(exact)" if r["cycles"] == model else f"(x{scale:.4f})"))
            if r.get("period"):
                period = frame_period(r["h"], r["w"], params, units)
                note += (f"; back to back {r['period']} cycles apart, model {period}"
                         + (" (exact)" if r["period"] == period else ""))
    return note, throughput(params, units, clock_mhz, scale)


def _sim_rows(path: Path | None) -> list[dict] | None:
    """The rows of a 'berth bm sim' result file (None: no file given and none at the default
    place); a file given that is missing or not such a result is a one-line BerthError."""
    if path is None:
        if not DEFAULT_SIM_RESULTS.is_file():
            return None
        path = DEFAULT_SIM_RESULTS
    what = f"--sim-results {str(path)!r}"
    if not path.is_file():
        raise BerthError(f"{what} does not exist; expected the sim.json or sim-image.json that 'berth bm sim' writes")
    try:
        rows = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BerthError(f"{what} is not a 'berth bm sim' result ({exc})") from None
    rows = [rows] if isinstance(rows, dict) else rows  # sim-image.json holds one row
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "run" in r for r in rows):
        raise BerthError(f"{what} is not a 'berth bm sim' result; expected its rows (run, passed, detail, ...)")
    return rows


@dataclass
class HlsRun:
    """A written HLS kernel project and what was checked on it."""

    project: Path
    shape: tuple[int, int]
    csim: dict[str, Any] | None = None
    synthesis: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def hls_project(out: Path, params: BMParams, image_path: str | None, part: str, clock_ns: float,
                csim: bool = True, synth: str = "auto", store: Path | None = None,
                say: Callable[[str], None] = lambda line: None) -> HlsRun:
    """Write the Vitis HLS project; C-simulate it against the golden model; synthesize it where
    the vendor tool is installed (``synth``: auto, yes or no) and file its report in ``store``.
    The long steps (compiling, C simulation, synthesis) are announced through ``say``."""
    from berth.hardware.blockmatch.vitis.csim import compile_csim, mismatches, read_matches, run_csim
    from berth.hardware.blockmatch.vitis.project import check_out_dir, write_project
    from berth.hardware.blockmatch.vitis.vendor import find_hls_tool, missing_message, run_synthesis, store_synthesis
    from berth.hardware.bm3d.images import load_gray8, sample_photo

    check_out_dir(out)
    if synth == "yes" and find_hls_tool() is None:
        raise BerthError(missing_message())
    image = load_gray8(image_path) if image_path else sample_photo("china")
    stimulus = image_path or "scikit-learn china photograph, 8-bit luma"
    run = HlsRun(write_project(out, params, image, stimulus=stimulus, part=part, clock_ns=clock_ns), image.shape)
    if csim:
        say("compiling the C simulation with g++")
        binary = compile_csim(run.project)
        say(f"C-simulating the {image.shape[0]}x{image.shape[1]} frame (minutes for a full photograph)")
        start = time.perf_counter()
        got = read_matches(run_csim(binary, run.project / "tb" / "input.pgm", run.project / "csim" / "matches.txt"),
                           params)
        seconds = time.perf_counter() - start
        diff = mismatches(block_match(image, params), got)
        run.csim = {"bit_exact": not diff, "differences": diff, "references": len(got.refs), "csim_seconds": seconds}
        atomic_write_json(run.project / "results" / "csim.json", run.csim)
    if synth != "no":
        if find_hls_tool() is None:
            run.notes.append(f"synthesis skipped: {missing_message()}")
        else:
            say("running vendor synthesis")
            run.synthesis = run_synthesis(run.project)
            if store is not None:
                store_synthesis(run.synthesis, store)
    return run


def load_clean(spec: str) -> np.ndarray:
    """A clean 8-bit image: a sample photograph by name, or an image file."""
    from berth.hardware.bm3d.images import SAMPLE_PHOTOS, load_gray8, sample_photo

    if spec in SAMPLE_PHOTOS and not Path(spec).exists():
        return sample_photo(spec)
    return load_gray8(spec)


def denoise(image_spec: str, sigma: float, out: Path, noisy_input: bool = False, seed: int = 0,
            metric: str = "ssd", window: int = 39, stride: int = 3, k: int = 16, pixel_bits: int = 8) -> dict:
    """Both BM3D stages on the hardware matcher (the Wiener stage with 2K, at most 32); writes the
    denoised image, the basic estimate and a JSON record to ``out``; returns the record."""
    from berth.hardware.bm3d import add_noise, denoise_with_hardware, psnr, save_gray8

    if not sigma > 0:
        raise BerthError(f"--sigma {sigma!r} must be > 0")
    image = load_clean(image_spec)
    noisy = image.astype(np.float64) if noisy_input else add_noise(image, sigma, seed)
    start = time.perf_counter()
    res = denoise_with_hardware(noisy, sigma, metric=metric, window=window, stride=stride, k_ht=k,
                                k_wiener=min(2 * k, 32), pixel_bits=pixel_bits)
    seconds = time.perf_counter() - start
    record = {"image": image_spec, "shape": list(image.shape), "sigma": sigma, "seed": None if noisy_input else seed,
              "matcher": {"metric": metric, "window": window, "stride": stride, "k_ht": k,
                          "k_wiener": min(2 * k, 32), "pixel_bits": pixel_bits},
              "seconds": seconds, "provenance": provenance({} if noisy_input else {"noise": seed})}
    if not noisy_input:
        record.update(noisy_db=psnr(image, noisy), basic_db=psnr(image, res.basic), psnr_db=psnr(image, res.final))
    with atomic_directory(out, replace=False) as tmp:
        save_gray8(tmp / "denoised.png", res.final)
        save_gray8(tmp / "basic.png", res.basic)
        if not noisy_input:
            save_gray8(tmp / "noisy.png", noisy)
        atomic_write_json(tmp / "result.json", record)
    return record
