"""Block matching for BM3D, all in one place: golden model, RTL parameters, cycle model, stimuli,
synthesis, and the Vitis HLS kernel.

* ``golden`` — :func:`block_match`, the one reference every implementation must equal exactly
  (the spec is ``docs/blockmatch.md``);
* ``params`` — ``RTLConfig``: one build of the RTL (``rtl_source()``: ``rtl/blockmatch.sv``,
  package ``berth.rtl``);
* ``perf`` — the cycle model and frames per second; ``stimuli`` — test images; ``plot``;
* ``synth`` — Yosys estimates, logic depth and iCE40 Fmax;
* ``vitis`` — the HLS kernel (``vitis/templates``), its project writer and g++ C simulation;
* the benches are ``berth.sim.blockmatch_tb`` (cocotb), ``berth.sim.native`` (Verilator C++) and
  ``berth.sim.suite``; the pipelines ``berth.flows.blockmatch``; the command ``berth bm``.
"""

from berth.hardware.blockmatch.golden import BMParams, MatchResult, block_match, check_image, ref_positions

__all__ = ["BMParams", "MatchResult", "block_match", "check_image", "ref_positions"]
