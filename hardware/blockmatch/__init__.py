"""Block matching for BM3D: golden model, RTL simulation, synthesis and throughput estimates.

The spec is ``docs/blockmatch.md``; :func:`block_match` is the golden model every
implementation must equal exactly.
"""

from berth.hardware.blockmatch.golden import BMParams, MatchResult, block_match, check_image, ref_positions

__all__ = ["BMParams", "MatchResult", "block_match", "check_image", "ref_positions"]
