"""``verify``: the clean C simulation against the software side (``reference``) on N test inputs."""

from __future__ import annotations

from berth.hardware.hls4ml.compare import Comparison, compare, csim_outputs
from berth.hardware.hls4ml.project import HlsProject
from berth.hardware.hls4ml.reference import reference_of


def verify_project(project: HlsProject | str, n: int | None = None) -> Comparison:
    """Compare the project's C simulation with its software side on the first ``n`` test inputs
    (``None``: 200, or the whole test set when it is smaller)."""
    project = project if isinstance(project, HlsProject) else HlsProject.load(project)
    reference = reference_of(project)
    x, labels = project.inputs(n)
    xq = reference.on_grid(x)
    sw, sw_s = reference.outputs(xq)
    hw, hw_s = csim_outputs(project, xq)
    return compare(hw, sw, labels, hw_s, sw_s)
