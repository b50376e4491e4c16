"""The same sweep on a local Ray instance: results equal the in-process run, a dead worker is retried."""

import pytest

from sweep_helpers import reference, snapshot, write_tiny

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")


def test_sweep_on_ray_survives_a_dying_worker(tmp_path):
    from berth.flows.driver import Driver
    from berth.flows.executors import RayExecutor
    from berth.core.store import Store
    from berth.flows.sweep import load_sweep

    (tmp_path / "ref").mkdir()
    expected = reference(tmp_path / "ref")
    marker = tmp_path / "died"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"BERTH_FAULT_DIE_ONCE": str(marker), "OMP_NUM_THREADS": "1"}})
    try:
        sweep, _ = load_sweep(write_tiny(tmp_path, tmp_path / "out"))
        with Store(tmp_path / "ray.sqlite") as store:
            counts = Driver(sweep, store, RayExecutor(), progress=False).run()
    finally:
        ray.shutdown()
    assert marker.exists(), "the fault hook did not kill a worker"
    assert counts == {"trained": 4, "read": 0, "evaluated": 4, "elsewhere": 0, "skipped": 0}
    assert snapshot(tmp_path / "ray.sqlite") == expected
