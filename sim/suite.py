"""The configurations the RTL is checked on, and ``berth bm sim``'s run of all of them."""

from __future__ import annotations

from dataclasses import asdict

from berth.hardware.blockmatch import BMParams, block_match
from berth.hardware.blockmatch.stimuli import ALL_STIMULI, PHOTOS, SYNTHETIC, stimulus
from berth.hardware.blockmatch.params import RTLConfig
from berth.hardware.blockmatch.perf import DESIGN_1080P
from berth.sim.runner import run

# The acceptance parameter sets, N1 in {4, 8} x {SSD, SAD} x K in {8, 16}, on small windows and
# frames that are not multiples of the stride, with P not dividing the window, and D (offset
# columns per pass) and G (references per group) varied. SAD thresholds are 24 per pixel, SSD ones
# BM3D's 3000 per pixel.
ACCEPTANCE = [
    RTLConfig(h=20, w=23, p=3, d=2 + i % 2, g=1 + i % 3,
              params=BMParams(block=n, window=7 if n == 8 else 5, stride=3 if n == 8 else 2,
                              metric=m, k=k, tau=(3000 if m == "ssd" else 24) * n * n))
    for i, (n, m, k) in enumerate((n, m, k) for n in (4, 8) for m in ("ssd", "sad") for k in (8, 16))
]
# The Verilator cocotb build that sees every stimulus, gaps, back-pressure and a mid-frame reset.
MAIN = RTLConfig(h=24, w=26, p=4, d=3, g=3, params=BMParams(window=7))
# The native whole-frame run: a 256x256 photograph, BM3D's default parameters (39x39 window),
# with the parallelism of the 1080p configuration.
FRAME = RTLConfig(h=256, w=256, p=DESIGN_1080P.p, d=DESIGN_1080P.d, g=DESIGN_1080P.g, params=BMParams())
FRAME_IMAGE = "china-s25"
# Native runs of the corners: K in {2, 16, 32}, P = 1 and P = window, D = 1 and D = window, groups
# wider than a reference row, a frame of one block, both block sizes and metrics.
MATRIX = [
    RTLConfig(h=8, w=8, p=1, d=1, g=1, params=BMParams(window=7, k=2)),
    RTLConfig(h=21, w=25, p=1, d=4, g=3, params=BMParams(window=9, k=32, tau=25_600)),
    RTLConfig(h=22, w=27, p=9, d=9, g=2, params=BMParams(window=9, k=2)),
    RTLConfig(h=30, w=40, p=13, d=13, g=18, params=BMParams(window=13, k=16)),
    RTLConfig(h=17, w=19, p=5, d=1, g=4, params=BMParams(block=4, window=5, stride=2, metric="sad", k=32,
                                                         tau=24 * 16)),
]
MATRIX_IMAGES = ("china-s15", "flower-s50", "ties", "contrast", "flat")


def cfg_id(cfg: RTLConfig) -> str:
    p = cfg.params
    return f"N{p.block}-{p.metric}-K{p.k}-w{p.window}-P{cfg.p}-D{cfg.d}-G{cfg.g}"


def acceptance_stimuli(index: int) -> list[str]:
    """A photo (rotating photo and noise level) and a synthetic case for acceptance set ``index``."""
    return [f"{PHOTOS[index % 2]}-s{(15, 25, 50)[index % 3]}", SYNTHETIC[index % len(SYNTHETIC)]]


def simulate_all(which: str = "all", seed: int = 0, every_image: bool = False) -> list[dict]:
    """Run the chosen simulations; one row per run with its verdict (and cycles for native).

    With ``every_image`` each acceptance set sees every stimulus, not two of them.
    """
    from berth.core.progress import bar

    jobs = []
    if which in ("verilator", "all"):
        jobs.append(("verilator", MAIN, list(ALL_STIMULI)))
    if which in ("icarus", "all"):
        jobs += [("icarus", cfg, list(ALL_STIMULI) if every_image else acceptance_stimuli(i))
                 for i, cfg in enumerate(ACCEPTANCE)]
    if which in ("native", "all"):
        jobs.append(("native", FRAME, [FRAME_IMAGE]))
    rows = []
    for sim, cfg, stimuli in bar(jobs, desc="block-matching RTL", unit="build"):
        rows.append(_native_row(cfg, seed) if sim == "native" else _cocotb_row(sim, cfg, stimuli, seed))
    return rows


def _cocotb_row(sim: str, cfg: RTLConfig, stimuli: list[str], seed: int) -> dict:
    tests, failed, log = run(sim, cfg, stimuli, seed=seed)
    return {"run": f"cocotb {sim} {cfg_id(cfg)}", "passed": tests > 0 and failed == 0,
            "detail": f"{tests - failed}/{tests} tests on {len(stimuli)} frames; log {log}"}


def _native_row(cfg: RTLConfig, seed: int) -> dict:
    from berth.sim.native import mismatches, run_native

    image = stimulus(FRAME_IMAGE, cfg.h, cfg.w, seed)
    native = run_native(cfg, image, frames=2)  # back to back
    want = block_match(image, cfg.params)
    diffs = [d for r in native.results for d in mismatches(r, want)]
    first, second = native.frame_cycles
    return {"run": f"native verilator {cfg.h}x{cfg.w} {cfg_id(cfg)}, two frames back to back", "passed": not diffs,
            "detail": (diffs[0] if diffs else "bit-exact") + f"; {first} cycles/frame, {second - first} back to "
                      f"back, {native.cycles_per_second / 1e3:.0f}k cycles/s",
            "h": cfg.h, "w": cfg.w, "p": cfg.p, "d": cfg.d, "g": cfg.g, "params": asdict(cfg.params), "cycles": first,
            "period": second - first, "seconds": native.seconds}
