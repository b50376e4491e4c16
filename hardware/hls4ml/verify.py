"""``verify``: the clean C simulation against the software model on N test inputs."""

from __future__ import annotations

from berth.hardware.hls4ml.compare import Comparison, compare, csim_outputs, on_grid, software_outputs
from berth.hardware.hls4ml.project import HlsProject


def verify_project(project: HlsProject | str, n: int = 200) -> Comparison:
    """Compare the project's C simulation with its software model on the first ``n`` test inputs."""
    project = project if isinstance(project, HlsProject) else HlsProject.load(project)
    model = project.software_model()
    x, labels = project.inputs(n)
    xq = on_grid(model, x)
    sw, sw_s = software_outputs(model, xq)
    hw, hw_s = csim_outputs(project, xq)
    return compare(hw, sw, labels, hw_s, sw_s)
