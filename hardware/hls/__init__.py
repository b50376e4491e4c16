"""hls4ml export of berth models: bit-exact C simulation and bit errors in the hardware weights.

The route (see docs in each module): fold norms → check every layer converts exactly → Brevitas
``export_qonnx`` → qonnx cleanup / channels-last / Gemm→MatMul → hls4ml config from the target →
convert → map berth's integer codes onto hls4ml's weight arrays → write → compile the C simulation
with g++. A project directory then supports ``verify`` (C-sim vs software model), ``inject``
(bit errors written into the project's weight files, no recompilation), ``build``/``report``
(vendor HLS synthesis when installed) and a tool-free cost estimate.
"""

from importlib import import_module

# Public API, imported on first use so that ``berth --help`` does not load torch or hls4ml.
_API = {
    "HlsProject": "project", "HlsTarget": "target", "build_project": "synth", "export_project": "export",
    "inject_chips": "inject", "parse_csynth_xml": "synth", "report_project": "synth", "verify_project": "verify",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(f"hardware.hls.{_API[name]}"), name)
    raise AttributeError(f"module 'hardware.hls' has no attribute {name!r}")
