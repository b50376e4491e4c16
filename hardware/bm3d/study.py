"""What each hardware saving of the block matcher costs in BM3D quality, beside its resources.

Variants change one choice of the reference matcher (SSD, window 39, K 16 / 32, 8-bit pixels,
stride 3): SAD instead of SSD, window 25 or 15, K 8 / 16, 6-bit pixels, stride 4. Each is run
through both BM3D stages on centre crops of the sample photographs with seeded noise; PSNR is
reported beside the Yosys estimate of the RTL core for the stage-1 parameters (when Yosys is
installed; the RTL has 8-bit pixels only, so the 6-bit variant has no estimate). A second sweep
corrupts the pixels in the matcher's line buffers at bit error rate p on several chips.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError, check_range
from berth.core.files import atomic_directory, atomic_write_json, atomic_write_text
from berth.hardware.bm3d.images import add_noise, psnr, sample_photo
from berth.hardware.bm3d.matchers import denoise_with_hardware, reference_params

VARIANTS: dict[str, dict] = {
    "reference (SSD, W39, K16, 8b, s3)": {},
    "SAD": {"metric": "sad"},
    "window 25": {"window": 25},
    "window 15": {"window": 15},
    "K 8 (Wiener 16)": {"k_ht": 8, "k_wiener": 16},
    "6-bit pixels": {"pixel_bits": 6},
    "stride 4": {"stride": 4},
}
# Frame and parallelism of the RTL builds that Yosys estimates (VGA line buffers, P = 4).
SYNTH_FRAME = (480, 640)
SYNTH_P = 4


def centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The centred ``side`` x ``side`` crop (the whole image when side is 0 or too large)."""
    if side <= 0:
        return image
    h, w = image.shape
    side = min(side, h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return image[y:y + side, x:x + side]


def resource_estimate(kwargs: dict, cache: Path) -> dict | None:
    """Yosys counts of the RTL core with the variant's stage-1 parameters (None for 6-bit pixels).

    Results are cached in ``cache/<config tag>.json`` (the tag changes with the parameters and
    the RTL source), since one synthesis takes minutes.
    """
    import json

    from berth.hardware.blockmatch.synth import synthesize
    from berth.hardware.blockmatch.params import RTLConfig

    if kwargs.get("pixel_bits", 8) != 8:
        return None
    params = reference_params(kwargs.get("metric", "ssd"), window=kwargs.get("window", 39),
                              stride=kwargs.get("stride", 3), k_ht=kwargs.get("k_ht", 16))[0]
    cfg = RTLConfig(h=SYNTH_FRAME[0], w=SYNTH_FRAME[1], p=SYNTH_P, params=params)
    stored = cache / f"{cfg.tag()}.json"
    if stored.is_file():
        return json.loads(stored.read_text())
    r = synthesize(cfg, cache / cfg.tag())
    row = {"LUT": r.lut, "FF": r.ff, "CARRY4": r.carry4, "BRAM36": r.bram36, "DSP": r.dsp, "yosys": r.yosys}
    atomic_write_json(stored, row)
    return row


def _table(rows: list[dict], photos: list[str]) -> str:
    head = f"| variant | {' | '.join(f'{p} dB' for p in photos)} | mean ΔdB | LUT | FF | BRAM36 | DSP |"
    lines = [head, "|" + "---|" * (6 + len(photos))]
    for r in rows:
        res = r["resources"] or {}
        cells = [f"{r['psnr'][p]:.2f}" for p in photos]
        lines.append(f"| {r['variant']} | {' | '.join(cells)} | {r['delta_db']:+.2f} | "
                     + " | ".join(str(res.get(k, "—")) for k in ("LUT", "FF", "BRAM36", "DSP")) + " |")
    return "\n".join(lines)


def _plot(rows: list[dict], errors: list[dict], photos: list[str], sigma: float, out: Path) -> None:
    """``study.png``/``.pdf``: PSNR change per saving (and LUTs beside it when estimated);
    ``errors.png``/``.pdf``: PSNR against line-buffer bit error rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from berth.core.figures import FIGURE, PAGE_WIDTH_IN, save_figure, series_style

    names = [r["variant"] for r in rows]
    luts = [(r["resources"] or {}).get("LUT") for r in rows]
    with plt.rc_context(FIGURE):
        panels = 2 if any(v is not None for v in luts) else 1
        fig, axes = plt.subplots(1, panels, figsize=(PAGE_WIDTH_IN, 0.32 * len(rows) + 1.2), squeeze=False,
                                 layout="constrained", gridspec_kw={"width_ratios": [3, 2][:panels]})
        ax = axes[0][0]
        ypos = np.arange(len(rows))
        height = 0.8 / len(photos)
        for i, p in enumerate(photos):
            ref = rows[0]["psnr"][p]
            ax.barh(ypos + i * height, [r["psnr"][p] - ref for r in rows], height, label=p,
                    color=series_style(i)["color"], hatch=["", "//"][i % 2])
        ax.set_yticks(ypos + 0.4 - height / 2, names)
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"PSNR change vs reference matcher (dB), sigma = {sigma:g}, one noise seed")
        ax.legend(loc="lower left")
        ax.grid(axis="x", alpha=0.3)
        if panels == 2:
            ax = axes[0][1]
            ax.barh(ypos, [v or 0 for v in luts], color="0.6")
            for y, v in zip(ypos, luts):
                ax.text(v or 0, y, f" {v}" if v is not None else " n/a", va="center")
            ax.set_xlabel(f"LUTs, Yosys synth_xilinx (RTL, {SYNTH_FRAME[1]} wide, P={SYNTH_P})")
            ax.set_yticks(ypos, [""] * len(rows))
            ax.invert_yaxis()
        fig.suptitle("BM3D on the hardware block matcher: what each saving costs (differences under ~0.1 dB "
                     "are within one seed's noise)", fontsize=8)
        save_figure(fig, out / "study.png")
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN / 2, 2.8), layout="constrained")
        ps = sorted({e["p"] for e in errors if e["p"] > 0})
        for i, p_name in enumerate(photos):
            style = series_style(i)
            clean = [e["psnr_mean"] for e in errors if e["photo"] == p_name and e["p"] == 0]
            series = [next(e for e in errors if e["photo"] == p_name and e["p"] == p) for p in ps]
            ax.plot(ps, [e["psnr_mean"] for e in series], label=p_name, ms=3.5, **style)
            ax.fill_between(ps, [e["psnr_min"] for e in series], [e["psnr_max"] for e in series],
                            color=style["color"], alpha=0.2, lw=0)
            if clean:
                ax.axhline(clean[0], color=style["color"], ls=":", lw=0.8)
        if ps:  # only error-free runs: the dotted lines alone, on a linear axis
            ax.set_xscale("log")
        ax.set_xlabel("bit error rate p of the line-buffer pixels")
        ax.set_ylabel("PSNR after BM3D (dB)")
        ax.set_title(f"Line-buffer bit errors, sigma = {sigma:g}\ndotted: no errors; band: min..max over chips")
        ax.grid(alpha=0.3)
        ax.legend()
        save_figure(fig, out / "errors.png")
        plt.close(fig)


def run_study(out: str | Path, photos: list[str] = ("china", "flower"), crop: int = 256, sigma: float = 25.0,
              seed: int = 0, ps: list[float] = (0.0, 1e-3, 1e-2), chips: int = 3, resources: bool = True,
              variants: dict[str, dict] | None = None, synth_cache: str | Path = Path("runs") / "bm" / "synth-cache") -> dict:
    """Run both sweeps and write study.json, study.md, study.png and errors.png into ``out``.

    Resource estimates (Yosys, when installed and ``resources``) are cached under ``synth_cache``.
    """
    from berth.core.provenance import provenance
    from berth.core.tools import find_tool

    variants = VARIANTS if variants is None else variants
    photos = list(photos)
    for p in ps:
        check_range("line-buffer bit error rate p", p, 0.0, 1.0)
    if chips < 1:
        raise BerthError(f"chips = {chips} must be >= 1")
    out = Path(out)
    if out.exists():
        raise BerthError(f"output {str(out)!r} already exists; choose a new directory")
    data = {}
    for name in photos:
        clean = centre_crop(sample_photo(name), crop)
        data[name] = (clean, add_noise(clean, sigma, seed))
    with_yosys = resources and find_tool("yosys") is not None
    with atomic_directory(out) as tmp:
        from berth.core.progress import bar

        rows = []
        for vname, kwargs in bar(variants.items(), desc="matcher variants", unit="variant"):
            start = time.perf_counter()
            scores = {p: psnr(c, denoise_with_hardware(n, sigma, **kwargs).final) for p, (c, n) in data.items()}
            res = resource_estimate(kwargs, Path(synth_cache)) if with_yosys else None
            rows.append({"variant": vname, "matcher": kwargs, "psnr": scores, "resources": res,
                         "seconds": time.perf_counter() - start})
        for r in rows:
            r["delta_db"] = float(np.mean([r["psnr"][p] - rows[0]["psnr"][p] for p in photos]))
        errors = []
        for p_name, (c, n) in data.items():
            for p in bar(ps, desc=f"line-buffer errors, {p_name}", unit="p"):
                vals = [psnr(c, denoise_with_hardware(n, sigma, p=p, chip=chip).final)
                        for chip in (range(chips) if p > 0 else [0])]
                errors.append({"photo": p_name, "p": p, "chips": len(vals), "psnr_mean": float(np.mean(vals)),
                               "psnr_min": float(np.min(vals)), "psnr_max": float(np.max(vals))})
        table = _table(rows, photos)
        etable = "\n".join([f"| p | {' | '.join(photos)} |", "|---|" + "---|" * len(photos)]
                           + [f"| {p:g} | " + " | ".join(f"{next(e['psnr_mean'] for e in errors if e['photo'] == n and e['p'] == p):.2f}"
                                                         for n in photos) + " |" for p in ps])
        note = ("" if with_yosys else "\nResource columns empty: "
                + ("Yosys not found (apt-get install yosys)." if resources else "--resources no."))
        setup = (f"sigma {sigma:g}, seed {seed}, centre crop {crop or 'full'} of {', '.join(photos)}; "
                 f"resources: RTL core, {SYNTH_FRAME[1]} wide, P = {SYNTH_P}, stage-1 parameters")
        atomic_write_text(tmp / "study.md", f"# Hardware-choice study\n\n{setup}\n\n{table}\n{note}\n\n"
                                            f"## Line-buffer bit errors (mean PSNR over {chips} chips)\n\n{etable}\n")
        _plot(rows, errors, photos, sigma, tmp)
        atomic_write_json(tmp / "study.json", {"setup": setup, "variants": rows, "errors": errors,
                                               "provenance": provenance({"noise": seed, "chips": chips})})
    return {"table": table + note, "errors_table": etable, "variants": rows, "errors": errors}
