"""The block matcher as a Vitis HLS kernel: project generator, g++ C simulation, report parser.

``write_project`` writes a complete HLS project (kernel, test bench, Tcl, README) atomically;
``compile_csim``/``run_csim`` C-simulate it with plain g++ and the ap_types headers of the hls4ml
wheel, on a PGM or on a beat script (``write_script``, framing and run-time registers);
``parse_csynth_xml`` reads the vendor tool's synthesis report.
"""

from berth.hardware.blockmatch.vitis.csim import (FRAME_DONE, FRAME_ERROR, Call, compile_csim, frame_beats,
                                                  mismatches, read_calls, read_matches, run_csim, write_script)
from berth.hardware.blockmatch.vitis.project import TOP, ap_types_dir, write_pgm, write_project
from berth.hardware.vitis_report import parse_csynth_xml

__all__ = ["TOP", "ap_types_dir", "write_pgm", "write_project", "compile_csim", "run_csim",
           "read_matches", "mismatches", "parse_csynth_xml", "FRAME_DONE", "FRAME_ERROR", "Call", "frame_beats",
           "write_script", "read_calls"]
