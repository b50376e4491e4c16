"""Reports of a sweep: tables in the paper's shape, paired comparisons, and plots, from the store.

``summaries`` turns per-chip rows into one Summary per (errors, model, bits, method, seed, p);
``write_report`` writes ``report.md`` with PNG plots: RErr vs p per method (log-x, a band over
the chips), RErr vs SRAM energy saving (``berth.hardware.energy``), and the table of Stutz et al.
(Err, RErr at p = 0.1, 0.5, 1, 2.5%).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from berth.core.figures import FIGURE, PAGE_WIDTH_IN, plain_log_labels, save_figure, series_style
from berth.core.files import atomic_write_text
from berth.flows.metrics import Summary, paired, summarize
from berth.core.store import Store

PAPER_P = (0.001, 0.005, 0.01, 0.025)
TABLE_MAX_P = 6  # more rates than this: the main table keeps the paper's (the detail table has all)
Key = tuple[str, str, int, str, int]  # (errors, model, bits, label, seed)


def load_rows(store: Store, sweep: str) -> list[dict[str, Any]]:
    """All per-chip result rows of ``sweep``."""
    return store.query("results", {"sweep": sweep}, order_by="errors,model,bits,label,seed,p,chip")


def per_chip(rows: list[dict]) -> dict[Key, dict[float, dict[int, float]]]:
    """``{(errors, model, bits, label, seed): {p: {chip: rerr}}}``."""
    out: dict[Key, dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        out[(r["errors"], r["model"], r["bits"], r["label"], r["seed"])][r["p"]][r["chip"]] = r["rerr"]
    return out


def clean_errors(rows: list[dict]) -> dict[Key, float]:
    return {(r["errors"], r["model"], r["bits"], r["label"], r["seed"]): r["clean_error"] for r in rows}


def summaries(rows: list[dict], seed: int = 0) -> dict[Key, dict[float, Summary]]:
    """One Summary (mean, std, bootstrap 95% interval, worst chip) per run and p."""
    out = {}
    for key, by_p in per_chip(rows).items():
        out[key] = {p: summarize(np.array(list(c.values())), np.array(list(c)), seed) for p, c in sorted(by_p.items())}
    return out


def ordered_labels(rows: list[dict], order: list[str] | None = None) -> list[str]:
    seen = list(dict.fromkeys(r["label"] for r in rows))
    return [l for l in (order or []) if l in seen] + [l for l in seen if l not in (order or [])]


def _pct(x: float) -> str:
    return f"{x * 100:.2f}"


def paper_table(rows: list[dict], labels: list[str], seed: int = 0) -> str:
    """Markdown table: Err and RErr (mean [95% interval]) at the sweep's rates, one row per run;
    with more than ``TABLE_MAX_P`` rates, only the paper's among them (when there are any)."""
    sums, clean = summaries(rows, seed), clean_errors(rows)
    ps = sorted({p for s in sums.values() for p in s})
    paper = [p for p in PAPER_P if p in ps]
    ps = paper if len(ps) > TABLE_MAX_P and paper else ps
    head = "| errors | model | bits | method | seed | Err % | " + " | ".join(f"RErr % p={p * 100:g}%" for p in ps) + " |"
    lines = [head, "|" + "---|" * (6 + len(ps))]
    for key in sorted(sums, key=lambda k: (k[0], k[1], -k[2], labels.index(k[3]), k[4])):
        cells = []
        for p in ps:
            s = sums[key].get(p)
            cells.append(f"{_pct(s.mean)} [{_pct(s.ci_low)}, {_pct(s.ci_high)}]" if s else "–")
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {key[4]} | {_pct(clean[key])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def detail_table(rows: list[dict], labels: list[str], seed: int = 0) -> str:
    """Markdown table: every p with mean, std, 95% interval and the worst chip."""
    sums = summaries(rows, seed)
    lines = ["| errors | model | bits | method | seed | p % | RErr mean % | std | 95% interval | worst % (chip) | chips |",
             "|" + "---|" * 11]
    for key in sorted(sums, key=lambda k: (k[0], k[1], -k[2], labels.index(k[3]), k[4])):
        for p, s in sums[key].items():
            lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {key[4]} | {p * 100:g} | {_pct(s.mean)} | "
                         f"{_pct(s.std)} | [{_pct(s.ci_low)}, {_pct(s.ci_high)}] | {_pct(s.worst)} ({s.worst_chip}) | {s.n} |")
    return "\n".join(lines)


def paired_table(rows: list[dict], pairs: list[tuple[str, str]], seed: int = 0) -> str:
    """Markdown table: method A vs B on the same chips (difference A - B in RErr points)."""
    chips = per_chip(rows)
    lines = ["| errors | model | bits | seed | p % | A | B | mean A−B % | 95% interval | A better / B better / ties | sign-test p |",
             "|" + "---|" * 11]
    runs = sorted({(k[0], k[1], k[2], k[4]) for k in chips}, key=lambda k: (k[0], k[1], -k[2], k[3]))
    for (errors, model, bits, s) in runs:
        for a, b in pairs:
            if (errors, model, bits, a, s) not in chips or (errors, model, bits, b, s) not in chips:
                continue
            for p, ca in sorted(chips[(errors, model, bits, a, s)].items()):
                cb = chips[(errors, model, bits, b, s)].get(p)
                if cb is None:
                    continue
                c = paired(ca, cb, seed)
                lines.append(f"| {errors} | {model} | {bits} | {s} | {p * 100:g} | {a} | {b} | {c.mean_diff * 100:+.2f} | "
                             f"[{c.ci_low * 100:+.2f}, {c.ci_high * 100:+.2f}] | {c.a_better} / {c.b_better} / {c.ties} | "
                             f"{c.sign_p:.2g} |")
    return "\n".join(lines)


def pooled(rows: list[dict]) -> dict[tuple[str, str, int, str], dict[float, list[float]]]:
    """``{(errors, model, bits, label): {p: [rerr of every (seed, chip)]}}`` — seeds pooled."""
    out: dict[tuple[str, str, int, str], dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[(r["errors"], r["model"], r["bits"], r["label"])][r["p"]].append(r["rerr"])
    return out


def plot_curves(rows: list[dict], labels: list[str], path: Path, energy: bool = False, seed: int = 0) -> Path:
    """RErr (%) against p (log-x) or against SRAM energy saving, one panel per (model, bits), one
    series per method: the mean over chips (and training seeds) with the 95% bootstrap interval the
    tables print, and a dotted line at each method's clean error. Written as PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from berth.hardware.energy import load_profile

    profile = load_profile() if energy else None
    chips = pooled(rows)
    clean = {(r["errors"], r["model"], r["bits"], r["label"]): [] for r in rows}
    for r in rows:
        clean[(r["errors"], r["model"], r["bits"], r["label"])].append(r["clean_error"])
    seeds = len({r["seed"] for r in rows})
    panels = sorted({(k[1], k[2]) for k in chips}, key=lambda mb: (mb[0], -mb[1]))
    cols = min(3, len(panels))
    nrows = -(-len(panels) // cols)
    with plt.rc_context(FIGURE):
        fig, axes = plt.subplots(nrows, cols, figsize=(PAGE_WIDTH_IN, 2.5 * nrows + 0.4), squeeze=False,
                                 sharey=True, layout="constrained")
        for ax in axes.flat[len(panels):]:
            ax.remove()
        for ax, (model, bits) in zip(axes.flat, panels):
            keys = sorted((k for k in chips if k[1] == model and k[2] == bits), key=lambda k: labels.index(k[3]))
            for key in keys:
                ps = np.array([p for p in sorted(chips[key]) if p > 0])
                stats = [summarize(np.array(chips[key][p]), seed=seed) for p in ps]
                x = profile.saving(ps) * 100 if energy else ps * 100
                mean = np.array([s.mean for s in stats]) * 100
                lo = np.array([s.ci_low for s in stats]) * 100
                hi = np.array([s.ci_high for s in stats]) * 100
                style = series_style(labels.index(key[3]))
                name = key[3] + ("" if key[0] == "random" else f" ({key[0]})")
                ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], label=name, lw=1.2, ms=3.5, capsize=2, **style)
                ax.axhline(float(np.mean(clean[key])) * 100, color=style["color"], lw=0.8, ls=":", alpha=0.8)
            ax.set_title(f"{model}, {bits}-bit weights")
            ax.set_yscale("log")
            plain_log_labels(ax.yaxis)
            ax.grid(True, which="major", alpha=0.3)
            if energy:
                ax.set_xlabel("SRAM energy saving vs. Vmin (%)")
                all_ps = sorted({p for k in keys for p in chips[k] if p > 0})
                top = ax.secondary_xaxis("top")
                top.set_xticks(profile.saving(np.array(all_ps)) * 100, [f"{p * 100:g}" for p in all_ps])
                top.set_xlabel("bit error rate p (%)")
            else:
                ticks = sorted({p * 100 for k in keys for p in chips[k] if p > 0})
                ax.set_xscale("log")
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
                ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
                ax.set_xlabel("bit error rate p (%)")
        for ax in axes[:, 0]:
            ax.set_ylabel("RErr (%, log scale)")
        over = f"{len({r['chip'] for r in rows})} chips" + (f" x {seeds} training seeds" if seeds > 1 else "")
        handles, names = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 4), frameon=False)
        fig.suptitle(f"Mean RErr over {over} with 95% bootstrap interval; dotted: clean error", fontsize=8)
        out = save_figure(fig, path)
        plt.close(fig)
    return out


def energy_table(ps: list[float]) -> str:
    """Markdown table: p -> V/Vmin -> energy saving, from the default SRAM profile."""
    from berth.hardware.energy import load_profile

    prof = load_profile()
    lines = ["| p % | V/Vmin | SRAM energy saving % |", "|---|---|---|"]
    for p in ps:
        lines.append(f"| {p * 100:g} | {float(prof.voltage_at(p)):.3f} | {float(prof.saving(p)) * 100:.1f} |")
    return "\n".join(lines)


def write_report(store: Store, sweep: str, out_dir: Path, order: list[str] | None = None,
                 pairs: list[tuple[str, str]] = (), seed: int = 0) -> Path:
    """Write ``out_dir/report.md`` and its plots for ``sweep``; returns the Markdown path."""
    from berth.hardware.energy import DEFAULT_PROFILE

    rows = load_rows(store, sweep)
    out_dir = Path(out_dir)
    if not rows:
        return atomic_write_text(out_dir / "report.md", f"# Sweep {sweep}\n\nNo results in {store.path} yet.\n")
    labels = ordered_labels(rows, order)
    ps = sorted({r["p"] for r in rows if r["errors"] == "random"})
    vs_p = plot_curves(rows, labels, out_dir / "rerr_vs_p.png", seed=seed)
    vs_e = plot_curves([r for r in rows if r["p"] > 0], labels, out_dir / "rerr_vs_energy.png", energy=True, seed=seed)
    text = f"""# Robustness sweep `{sweep}`

Store: `{store.path}`. RErr counts a test example as wrong if the clean or the perturbed model
gets it wrong; chips are persistent and the same for every model. Intervals are 95% bootstrap
intervals of the mean over chips (seed {seed}).

## Clean error and RErr (the paper's table)

{paper_table(rows, labels, seed)}

## RErr against bit error rate

![RErr vs p]({vs_p.name}) (also as [PDF]({vs_p.with_suffix(".pdf").name}))

## RErr against SRAM energy saving

![RErr vs energy saving]({vs_e.name}) (also as [PDF]({vs_e.with_suffix(".pdf").name}))

Energy model (`hardware/energy.py`, data `hardware/data/{DEFAULT_PROFILE.name}`): energy per
access ∝ (V/Vmin)²; p(V) from points *reconstructed from the paper's text, not its measured
figure* — see the data file's provenance before quoting savings.

{energy_table(ps)}

## Paired comparisons (same chips)

{paired_table(rows, list(pairs), seed) if pairs else "No pairs configured."}

## Every bit error rate

{detail_table(rows, labels, seed)}
"""
    return atomic_write_text(out_dir / "report.md", text)
