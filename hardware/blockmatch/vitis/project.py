"""Write a complete Vitis HLS project for one block-matching parameter set, atomically.

The project holds the kernel (``src/``), a C test bench with its stimulus image (``tb/``), a Tcl
script for the vendor flow, a g++ C-simulation script, a README and ``berth_project.json``, the
marker that makes the folder berth's (only such a folder is ever replaced). It is built in a
temporary sibling and renamed into place, so it is never half-written.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError
from berth.core.files import atomic_directory, atomic_write_json, package_file
from berth.hardware.blockmatch import BMParams, check_image

TOP = "blockmatch_top"
MARKER = "berth_project.json"
TEMPLATES = package_file("berth.hardware.blockmatch.vitis", "templates")
CXXFLAGS = ("-std=c++14 -O2 -Wno-unknown-pragmas -Wno-maybe-uninitialized -Wno-uninitialized "
            "-Wno-int-in-bool-context")
SOURCES = {"blockmatch.h": "src", "blockmatch_top.h": "src", "blockmatch_top.cpp": "src",
           "tb_blockmatch.cpp": "tb"}
DEFAULT_PART = "xc7z030sbg485-1"  # the Zynq-7030 of "Block-matching in FPGA" (AXIOM Beta)


def ap_types_dir() -> Path:
    """The Apache-2.0 Xilinx ap_types headers shipped in the hls4ml wheel (found without importing it)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise BerthError("the ap_types headers come with hls4ml, which is not installed (pip install -c constraints.txt hls4ml==1.3.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").is_file():
        raise BerthError(f"no ap_int.h under {path}; the hls4ml installation is incomplete")
    return path


def write_pgm(path: str | Path, image: np.ndarray) -> Path:
    """Write an 8-bit grayscale image as binary PGM (P5), the test bench's input format."""
    h, w = image.shape
    path = Path(path)
    path.write_bytes(f"P5\n{w} {h}\n255\n".encode() + np.ascontiguousarray(image, dtype=np.uint8).tobytes())
    return path


def params_header(params: BMParams, height: int, width: int) -> str:
    """``src/params.h``: the kernel's template arguments for this project."""
    return "\n".join([
        "// Parameters of this block-matching project (written by berth bm hls).",
        "#ifndef BERTH_BM_PARAMS_H", "#define BERTH_BM_PARAMS_H",
        f"#define BM_H {height}", f"#define BM_W {width}", f"#define BM_N1 {params.block}",
        f"#define BM_WINDOW {params.window}", f"#define BM_STRIDE {params.stride}", f"#define BM_K {params.k}",
        f"#define BM_TAU {params.tau}LL", f"#define BM_SAD {'true' if params.metric == 'sad' else 'false'}",
        "#endif", ""])


def is_berth_project(path: Path) -> bool:
    """True when ``path`` is a folder berth wrote (it holds the marker file)."""
    return (path / MARKER).is_file()


def check_out_dir(out: Path) -> None:
    """Refuse an existing output that berth did not write (it would be replaced)."""
    if out.exists() and not (out.is_dir() and is_berth_project(out)):
        raise BerthError(f"output {str(out)!r} exists and is not a berth project (no {MARKER}); "
                         "choose a new directory or remove it")


def write_project(out: str | Path, params: BMParams, image: np.ndarray, stimulus: str = "image",
                  part: str = DEFAULT_PART, clock_ns: float = 4.0) -> Path:
    """Write the HLS project for ``params`` and frames of ``image``'s size (``image`` is the stimulus)."""
    out = Path(out)
    check_out_dir(out)
    check_image(image, params)
    h, w = image.shape
    if h >= 65536 or w >= 65536:
        raise BerthError(f"image shape {image.shape} is too large; the kernel's row and column fields are 16 bits")
    if not 0 < clock_ns < 1000:
        raise BerthError(f"clock period = {clock_ns!r} ns is outside (0, 1000)")
    fields = dict(top=TOP, height=h, width=w, block=params.block, window=params.window, stride=params.stride,
                  metric=params.metric.upper(), k=params.k, tau=params.tau, dist_bits=params.dist_bits,
                  sat=params.sat, part=part, clock_ns=clock_ns, stimulus=stimulus, ap_types=ap_types_dir(),
                  cxxflags=CXXFLAGS,
                  params_line=f"N1={params.block} window={params.window} stride={params.stride} "
                              f"{params.metric.upper()} K={params.k} tau={params.tau}")
    with atomic_directory(out, replace=True) as tmp:
        for sub in ("src", "tb", "results"):
            (tmp / sub).mkdir()
        for name, sub in SOURCES.items():
            shutil.copyfile(TEMPLATES / name, tmp / sub / name)
        (tmp / "src" / "params.h").write_text(params_header(params, h, w))
        write_pgm(tmp / "tb" / "input.pgm", image)
        (tmp / "run_hls.tcl").write_text((TEMPLATES / "run_hls.tcl").read_text().format(**fields))
        script = tmp / "build_csim.sh"
        script.write_text((TEMPLATES / "build_csim.sh").read_text().format(**fields))
        script.chmod(0o755)
        (tmp / "README.md").write_text((TEMPLATES / "README.md").read_text().format(**fields))
        from berth.core.provenance import provenance

        atomic_write_json(tmp / MARKER, {"kind": "blockmatch_hls", "top": TOP, "height": h, "width": w,
                                         "params": {k: getattr(params, k) for k in params.__dataclass_fields__},
                                         "part": part, "clock_ns": clock_ns, "stimulus": stimulus,
                                         "provenance": provenance()})
    return out


def load_project(path: str | Path) -> dict:
    """The marker record of a berth HLS project (BerthError when ``path`` is not one)."""
    import json

    path = Path(path)
    if not is_berth_project(path):
        raise BerthError(f"{str(path)!r} is not a berth HLS project (no {MARKER})")
    return json.loads((path / MARKER).read_text())
