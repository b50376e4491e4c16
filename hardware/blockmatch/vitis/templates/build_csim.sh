#!/usr/bin/env bash
# C simulation with plain g++ (no vendor tool): builds csim/tb_blockmatch and runs it on the
# bundled stimulus, writing csim/matches.txt ("ref_y ref_x dy dx dist", K lines per reference).
# AP_TYPES: a directory with ap_int.h and hls_stream.h (default: the one berth found when it
# wrote this project, inside the hls4ml wheel; Vitis users may pass $XILINX_HLS/include).
set -euo pipefail
cd "$(dirname "$0")"
AP_TYPES="${{AP_TYPES:-{ap_types}}}"
mkdir -p csim
g++ {cxxflags} -I src -I "$AP_TYPES" -o csim/tb_blockmatch tb/tb_blockmatch.cpp src/blockmatch_top.cpp
./csim/tb_blockmatch tb/input.pgm csim/matches.txt
