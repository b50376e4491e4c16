"""``inject``: bit errors of a chip written into the project's weight files, C-simulated, compared.

For each chip the same error model perturbs berth's clean codes once; the perturbed codes go to
(a) the software side (the model via ``use_codes``, or qonnx's execution of a QONNX project) and (b) a temporary copy of the project's weight files
via the weight map. The C simulation reloads those files (no recompilation). Equality of the two
outputs, bit for bit, shows the hardware weights hold exactly berth's integers — including codes a
flip pushes to the most negative value, which the wrap-mode weight types keep.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from berth.hardware.hls4ml.compare import Comparison, compare, csim_outputs
from berth.hardware.hls4ml.project import HlsProject
from berth.hardware.hls4ml.reference import Reference, reference_of
from berth.quant.codes import QTensor
from berth.quant.faults import ErrorModel, RandomBitErrors
from berth.quant.memory import WeightMemory


@dataclass(frozen=True)
class ChipResult:
    """One chip: what was flipped and how C simulation and software model compare under it."""

    chip: int
    p: float
    flipped_codes: int
    comparison: Comparison

    def as_dict(self) -> dict:
        return {**asdict(self), "comparison": self.comparison.as_dict()}


def changed_codes(clean: dict[str, QTensor], perturbed: dict[str, QTensor]) -> int:
    """How many codes differ between two code sets."""
    return int(sum(np.count_nonzero(clean[k].codes != perturbed[k].codes) for k in perturbed))


def run_chip(project: HlsProject, reference: Reference, xq, labels: np.ndarray, clean: dict[str, QTensor],
             errors: ErrorModel, chip: int, p: float) -> ChipResult:
    """Perturb ``clean`` with ``errors``, run both sides on ``xq``, compare."""
    perturbed = errors.perturb(clean)
    sw, sw_s = reference.outputs(xq, perturbed)
    with project.weights_with(perturbed) as weights:
        hw, hw_s = csim_outputs(project, xq, weights)
    return ChipResult(chip=chip, p=p, flipped_codes=changed_codes(clean, perturbed),
                      comparison=compare(hw, sw, labels, hw_s, sw_s))


def inject_chips(project: HlsProject | str, p: float, chips: list[int], n: int | None = None,
                 errors: Callable[[float, int], ErrorModel] = RandomBitErrors) -> list[ChipResult]:
    """Bit errors ``errors(p, chip)`` (random flips by default) for each chip, on the first ``n`` test inputs
    (``None``: 200, or the whole test set when it is smaller).

    What a sweep calls to check a chip in hardware numerics; any berth error model with the
    ``(p, chip)`` signature works (e.g. ``StuckAtErrors``).
    """
    project = project if isinstance(project, HlsProject) else HlsProject.load(project)
    reference = reference_of(project)
    x, labels = project.inputs(n)
    xq = reference.on_grid(x)
    clean = WeightMemory.pack(reference.codes())
    return [run_chip(project, reference, xq, labels, clean, errors(p, k), k, p) for k in chips]
