"""hls4ml export of berth models: bit-exact C simulation and bit errors in the hardware weights.

The route (see docs in each module): fold norms → check every layer converts exactly → Brevitas
``export_qonnx`` → qonnx cleanup / channels-last / Gemm→MatMul → hls4ml config from the target →
convert (per-layer settings by berth's layer name, ``layers``) → map berth's integer codes onto
hls4ml's weight arrays → write → compile the C simulation with g++. A project directory then
supports ``verify`` (C-sim vs software model), ``chips`` (bit errors written into the project's
weight files, no recompilation), ``build``/``report`` (vendor HLS synthesis when installed; any
hls4ml report folder checked against the project) and a tool-free cost estimate with per-layer
LUT/FF/DSP/BRAM_18K (``estimate``). Layers with berth schemes and plain Brevitas fixed-point
layers are both exported (``brevitas_layers``); a QONNX file enters after the Brevitas export and
is its own software reference (``qonnx_in``, ``reference``).
"""
