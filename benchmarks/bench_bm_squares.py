"""Squares for the block matcher's column sums: in LUTs (as the core computes them) or two to a
DSP48E1 slice, as resources measured in one run.

A column sum of N1 = 8 squared differences, written both ways in ``bm_squares.sv``: the core's
``x^2 = 256 h^2 + 32 h l + l^2`` in LUTs, and ``(a 2^9 + b)(a 2^9 - b) = a^2 2^18 - b^2`` with the
four products summed along the DSP chain and split once. Yosys ``synth_xilinx -family xc7``
counts each; Icarus checks that the two give the same sums on 1 990 inputs (all-255 and all-0
among them; ``bm_squares_tb.sv``). Prints LUT, CARRY4, FF and DSP48E1 of each, the LUT ratio,
the LUTs saved per slice, and what 1080p30's 169 column sums per cycle (P = D = 13) would take
each way on a Zynq-7030. Tool logs stay in ``--work``.

Run: python benchmarks/bench_bm_squares.py [--work runs/bm/squares]
"""

from __future__ import annotations

from pathlib import Path

from rtl_tools import cells, icarus_verdict, work_folder

from berth.hardware.blockmatch.synth import ZYNQ_7030

SOURCE = Path(__file__).with_name("bm_squares.sv")
BENCH = Path(__file__).with_name("bm_squares_tb.sv")
LANES_1080P = 13 * 13  # column sums per cycle at P = D = 13


def main() -> None:
    work = work_folder(__doc__.splitlines()[0], "runs/bm/squares")
    print(f"Icarus: {icarus_verdict([SOURCE, BENCH], 'sq_tb', work)}", flush=True)
    (lut, _), (dsp, _) = cells(SOURCE, "sq_lut", work), cells(SOURCE, "sq_dsp", work)
    print("\none column sum of 8 squares (Yosys synth_xilinx -family xc7)")
    print(f"{'form':<28} {'LUT':>6} {'CARRY4':>7} {'FF':>6} {'DSP48E1':>8}")
    for name, c in (("LUTs (the core)", lut), ("two squares per DSP48E1", dsp)):
        print(f"{name:<28} {c['LUT']:>6} {c['CARRY4']:>7} {c['FF']:>6} {c['DSP48E1']:>8}")
    saved = (lut["LUT"] - dsp["LUT"]) / dsp["DSP48E1"]
    print(f"LUT ratio {lut['LUT'] / dsp['LUT']:.1f}x; {saved:.0f} LUT saved per DSP48E1 slice")
    slices = LANES_1080P * dsp["DSP48E1"]
    print(f"1080p30 ({LANES_1080P} column sums a cycle): {LANES_1080P * lut['LUT']} LUT "
          f"({100 * LANES_1080P * lut['LUT'] / ZYNQ_7030['lut']:.0f} % of a Zynq-7030) for the squares and sums in LUTs, "
          f"or {slices} DSP48E1 ({100 * slices / ZYNQ_7030['dsp']:.0f} %) and {LANES_1080P * dsp['LUT']} LUT; "
          f"within 50 % of the DSP48E1 ({ZYNQ_7030['dsp'] // 2}), {ZYNQ_7030['dsp'] // 2 // dsp['DSP48E1']} column sums "
          f"on slices save {ZYNQ_7030['dsp'] // 2 // dsp['DSP48E1'] * (lut['LUT'] - dsp['LUT'])} LUT")


if __name__ == "__main__":
    main()
