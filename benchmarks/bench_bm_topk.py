"""The top-K of the block matcher at 1080p30: what its two cheapest forms cost per key, and what
1080p30's 41.2 keys a cycle would take of a Zynq-7030 in each.

A reference keeps its K - 1 = 15 smallest keys {distance, dy, dx} (30 bits at the 1080p
configuration: an 18-bit distance, two 6-bit offsets). Two forms, measured in one run:

* insertion (``bm_topk.sv``): a sorted list that takes one key a cycle (each slot compares the key
  with itself and takes the key, its upper neighbour or keeps its own);
* networks (``bm_topk_network.py`` writes it): an engine that takes 16 keys of one reference a
  cycle, sorts them (Batcher, 63 comparators) and merges them into the reference's list (a
  half-cleaner and a bitonic merge, 48), pipelined, five references' lists in its loop.

Icarus checks each against a selection by repeated minimum search (``bm_topk_tb.sv``,
``bm_topk_merge_tb.sv``: partly empty lists, ties in distance, every key entering, gaps); Yosys
``synth_xilinx -family xc7`` counts their cells and the core's delay model times their longest
paths. At 41.2 keys a cycle, a rate that does not depend on the image needs units that take
them all each cycle; what is left of the issue's 30 % of the LUTs then has to compute the 41.2
distances, each at least a block sum that slides by the stride and a comparison with tau
(``bm_distance_tail.sv``, also counted here). Tool logs and the generated Verilog stay in
``--work``.

Run: python benchmarks/bench_bm_topk.py [--work runs/bm/topk]
"""

from __future__ import annotations

import math
from pathlib import Path

from bm_topk_network import loop_depth, topk_merge_verilog
from rtl_tools import cells, icarus_verdict, work_folder

from berth.hardware.blockmatch.synth import ZYNQ_7030

HERE = Path(__file__).parent
KEYS_PER_CYCLE = 41.2  # distances a cycle for 1080p at 30 fps, 250 MHz (`berth bm perf`)
TARGET_LUT = 0.30  # the issue's LUT target, a share of the device
KW, SLOTS, BATCH = 30, 15, 16


def _share(lut: float) -> str:
    return f"{100 * lut / ZYNQ_7030['lut']:.1f} %"


def main() -> None:
    work = work_folder(__doc__.splitlines()[0], "runs/bm/topk")
    network = work / "bm_topk_merge.sv"
    network.write_text(topk_merge_verilog(KW, BATCH, SLOTS))
    print(f"Icarus, insertion: {icarus_verdict([HERE / 'bm_topk.sv', HERE / 'bm_topk_tb.sv'], 'topk_tb', work)}")
    loop = {"LOOP": loop_depth(BATCH)}
    verdict = icarus_verdict([network, HERE / "bm_topk_merge_tb.sv"], "topk_merge_tb", work, loop)
    print(f"Icarus, networks: {verdict}", flush=True)
    forms = [("insertion list", 1, *cells(HERE / "bm_topk.sv", "topk_insert", work, f"-set KW {KW} -set S {SLOTS}")),
             ("networks", BATCH, *cells(network, "topk_merge", work))]
    budget = TARGET_LUT * ZYNQ_7030["lut"]
    print(f"\nthe {SLOTS} smallest keys of {KW} bits (Yosys synth_xilinx -family xc7)")
    print(f"{'form':<15} {'keys/cycle':>10} {'LUT':>6} {'CARRY4':>7} {'FF':>6} {'LUT/key':>8}  longest path")
    for name, keys, c, path in forms:
        print(f"{name:<15} {keys:>10} {c['LUT']:>6} {c['CARRY4']:>7} {c['FF']:>6} {c['LUT'] / keys:>8.0f}  "
              f"{path.ns:.2f} ns ({path.luts} LUT, {path.carry4} CARRY4; {path.start} -> {path.end})")
    print(f"\n1080p30 ({KEYS_PER_CYCLE} keys a cycle; the target for the whole core is {100 * TARGET_LUT:.0f} % of a "
          f"Zynq-7030, {budget:.0f} LUT):")
    for name, keys, c, _ in forms:
        units = math.ceil(KEYS_PER_CYCLE / keys)
        floor = KEYS_PER_CYCLE * c["LUT"] / keys
        left = (f"leaving {budget - floor:.0f} LUT, {(budget - floor) / KEYS_PER_CYCLE:.0f} a distance, for the "
                "distances" if floor < budget else "over the target before any distance")
        print(f"  {name}: {units} units, {units * c['LUT']} LUT ({_share(units * c['LUT'])}), {units * c['FF']} FF "
              f"({100 * units * c['FF'] / ZYNQ_7030['ff']:.1f} %); at {c['LUT'] / keys:.0f} LUT a key without "
              f"rounding up {floor:.0f} LUT ({_share(floor)}), {left}")
    tail, _ = cells(HERE / "bm_distance_tail.sv", "dist_tail", work)
    print(f"a distance's block sum sliding by the stride and its comparison with tau (bm_distance_tail.sv): "
          f"{tail['LUT']} LUT, {tail['CARRY4']} CARRY4, {tail['FF']} FF")


if __name__ == "__main__":
    main()
