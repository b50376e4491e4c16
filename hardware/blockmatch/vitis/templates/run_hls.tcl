# Vitis HLS flow for the berth block-matching kernel ({top}, {height}x{width}, {params_line}).
#   vitis-run --mode hls --tcl run_hls.tcl      (Vitis >= 2023.2)
#   vitis_hls -f run_hls.tcl                    (Vitis HLS 2020.2 - 2024.x)
# Steps come from BERTH_HLS_STEPS (default "csim csynth cosim export"); berth runs "csynth".
set steps "csim csynth cosim export"
if {{[info exists ::env(BERTH_HLS_STEPS)]}} {{ set steps $::env(BERTH_HLS_STEPS) }}
set here [file dirname [file normalize [info script]]]
cd $here
open_project -reset prj
set_top {top}
add_files src/blockmatch_top.cpp -cflags "-Isrc -std=c++14"
add_files -tb tb/tb_blockmatch.cpp -cflags "-Isrc -std=c++14"
add_files -tb tb/input.pgm
open_solution -reset solution1 -flow_target vivado
set_part {{{part}}}
create_clock -period {clock_ns} -name default
if {{[lsearch $steps csim] >= 0}} {{ csim_design -argv "input.pgm matches_csim.txt" }}
if {{[lsearch $steps csynth] >= 0}} {{ csynth_design }}
if {{[lsearch $steps cosim] >= 0}} {{ cosim_design -argv "input.pgm matches_cosim.txt" }}
if {{[lsearch $steps export] >= 0}} {{ export_design -format ip_catalog }}
exit
