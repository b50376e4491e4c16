"""berth as a user gets it: a regular (non-editable) install, used from an empty directory.

The wheel is built from this checkout and installed without dependencies into a fresh virtual
environment whose ``.pth`` file borrows the current environment's third-party packages (so the
test needs no download and no second copy of torch). Everything berth itself needs — the RTL,
the HLS kernel templates, the C++ benches, the embedded sweep — must therefore come from the
installed wheel, and every output must land in the working directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.rtl, pytest.mark.hls]

TINY_SWEEP = textwrap.dedent("""
    name = "tiny"
    dataset = "digits"
    models = ["mlp"]
    bits = [8]
    seeds = [0]
    p = [0.01]
    chips = 2
    train = { epochs = 1 }

    [[variants]]
    name = "rquant"
    scheme = "rquant"

    [[errors]]
    kind = "random"
""")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh venv holding the berth wheel (dependencies borrowed, see above)."""
    root = tmp_path_factory.mktemp("install")
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(REPO)], check=True, capture_output=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(dist.glob("berth-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(purelib), str(wheel)],
                   check=True, capture_output=True)
    return python


def run_in(cwd: Path, python: Path, *args: str) -> str:
    """Run ``python args`` in ``cwd`` with nothing of the checkout on the path; its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BERTH_STORE")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_berth_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = run_in(tmp_path, installed, "-c", "import berth, berth.quant; print(berth.__file__, berth.quant.__file__)")
    assert str(REPO) not in out and out.count("site-packages") == 2


def test_rtl_simulation_hls_csim_and_sweep_from_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    rtl = ("from berth.hardware.blockmatch.params import RTLConfig\n"
           "from berth.sim.runner import run\n"
           "tests, failed, log = run('icarus', RTLConfig(h=12, w=12), ['ties'])\n"
           "assert tests and not failed, log\n"
           "print(log)")
    assert str(tmp_path / "sim_build") in run_in(tmp_path, installed, "-c", rtl)
    run_in(tmp_path, installed, "-m", "berth.cli", "bm", "hls", "--out", "kernel", "--window", "7", "--k", "4",
           "--image", str(_small_png(tmp_path)), "--synth", "no")
    assert (tmp_path / "kernel" / "results" / "csim.json").is_file()
    (tmp_path / "tiny.toml").write_text(TINY_SWEEP)
    out = run_in(tmp_path, installed, "-m", "berth.cli", "sweep", "tiny.toml", "--executor", "serial",
                 "--set", "out=runs", "--no-progress")
    assert "1 trained" in out and (tmp_path / "runs" / "berth.sqlite").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel", "runs", "sim_build", "small.png", "tiny.toml"]


def _small_png(folder: Path) -> Path:
    """A 24x32 8-bit grayscale image (the kernel's C simulation runs on it in seconds)."""
    import numpy as np
    from PIL import Image

    path = folder / "small.png"
    Image.fromarray((np.arange(24 * 32).reshape(24, 32) * 7 % 251).astype(np.uint8)).save(path)
    return path
