"""The top-K of the block matcher at 1080p30: what the textbook list that takes one key a cycle
costs, and what 1080p30's 41.2 keys a cycle would take of a Zynq-7030 in such lists.

A reference keeps its K - 1 = 15 smallest keys {distance, dy, dx} (30 bits at the 1080p
configuration: an 18-bit distance, two 6-bit offsets) in a sorted list; ``bm_topk.sv`` inserts one
key a cycle (each slot compares the key with itself and takes the key, its upper neighbour or
keeps its own: the least a list that must accept a key every cycle needs). Icarus checks it
against a selection by repeated minimum search (``bm_topk_tb.sv``: partly empty lists, ties in
distance, every key entering); Yosys ``synth_xilinx -family xc7`` counts its cells and the core's
delay model times its longest path. At 41.2 keys a cycle no list can take fewer than one key a
cycle without a rate that depends on the image, so at least 42 such lists are updated each cycle
(the current core's sort and merge take 13 keys a cycle per list instead: 68 000 LUT measured).
Tool logs stay in ``--work``.

Run: python benchmarks/bench_bm_topk.py [--work runs/bm/topk]
"""

from __future__ import annotations

import math
from pathlib import Path

from rtl_tools import cells, icarus_verdict, work_folder

from berth.hardware.blockmatch.synth import ZYNQ_7030

SOURCE = Path(__file__).with_name("bm_topk.sv")
BENCH = Path(__file__).with_name("bm_topk_tb.sv")
KEYS_PER_CYCLE = 41.2  # distances a cycle for 1080p at 30 fps, 250 MHz (`berth bm perf`)
TARGET_LUT = 0.30  # the LUT target, a share of the device


def main() -> None:
    work = work_folder(__doc__.splitlines()[0], "runs/bm/topk")
    print(f"Icarus: {icarus_verdict([SOURCE, BENCH], 'topk_tb', work)}", flush=True)
    c, path = cells(SOURCE, "topk_insert", work, "-set KW 30 -set S 15")
    print("\none list of 15 keys of 30 bits, one key a cycle (Yosys synth_xilinx -family xc7)")
    print(f"{'LUT':>6} {'CARRY4':>7} {'FF':>6}  longest path")
    print(f"{c['LUT']:>6} {c['CARRY4']:>7} {c['FF']:>6}  {path.ns:.2f} ns ({path.luts} LUT, {path.carry4} CARRY4; "
          f"{path.start} -> {path.end})")
    lists = math.ceil(KEYS_PER_CYCLE)
    lut, ff = lists * c["LUT"], lists * c["FF"]
    print(f"1080p30 ({KEYS_PER_CYCLE} keys a cycle, {lists} lists taking one each): {lut} LUT "
          f"({100 * lut / ZYNQ_7030['lut']:.1f} % of a Zynq-7030; the target for the whole core is "
          f"{100 * TARGET_LUT:.0f} %, {int(TARGET_LUT * ZYNQ_7030['lut'])} LUT) and {ff} FF "
          f"({100 * ff / ZYNQ_7030['ff']:.1f} %), before any distance is computed")


if __name__ == "__main__":
    main()
