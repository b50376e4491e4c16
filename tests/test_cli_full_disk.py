"""Writing to a full disk or a read-only file system: one line naming the path and the cause, exit
status 2, and nothing left behind there — on real file systems (a 64 KiB tmpfs, filled or
remounted read-only, in a mount namespace of the test's own), not on mocked errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli_failures import store  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

MOUNT = """
set -e
mount -t tmpfs -o size=64k tmpfs "$1"
if [ "$2" = full ]; then dd if=/dev/zero of="$1/.fill" bs=4k 2>/dev/null || true; else mount -o remount,ro "$1"; fi
shift 2
set +e
"$@" 2>"$BERTH_ERR"
echo "rc=$?"
ls -A "$(dirname "$BERTH_ERR")/d"
"""


def _namespaces_work() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-Urm", "true"], capture_output=True).returncode == 0


needs_unshare = pytest.mark.skipif(not _namespaces_work(), reason="needs unshare -Urm (user and mount namespaces)")

# Each writer once on a full disk and once read-only would double the time for little: the modes
# alternate, so each writer meets one and both modes meet every kind of output (CSV, parquet,
# SQLite store, run folder, HLS project).
CASES = [
    ("full", ["results", "{store}", "--csv", "{d}/x.csv"], "{d}/x.csv"),
    ("ro", ["results", "{store}", "--out", "{d}/x.parquet", "--format", "parquet"], "{d}/x.parquet"),
    ("full", ["sweep", "--store", "{d}/s.sqlite", "--set", "chips=1"], "{d}/s.sqlite"),
    ("ro", ["sweep", "--store", "{d}/s.sqlite", "--set", "chips=1"], "{d}/s.sqlite"),
    ("full", ["eval", "--set", "out={d}/ev", "--set", "epochs=0"], "{d}/ev"),
    ("ro", ["train", "--set", "out={d}/tr", "--set", "train.epochs=1"], "{d}/tr"),
    ("full", ["hls", "export", "mlp", "--out", "{d}/prj"], "{d}"),
    ("ro", ["hls", "export", "mlp", "--out", "{d}/prj"], "{d}"),
]
CAUSES = {"full": "No space left on device", "ro": "Read-only file system"}


@needs_unshare
@pytest.mark.parametrize("mode, args, path", CASES, ids=[f"{c[0]} {c[1][0]} {c[1][-1]}" for c in CASES])
def test_full_or_read_only_disk_is_one_line(tmp_path: Path, store: Path, mode: str, args: list[str],  # noqa: F811
                                            path: str) -> None:
    d = tmp_path / "d"
    d.mkdir()
    err = tmp_path / "stderr.txt"
    fill = {"d": str(d), "store": str(store)}
    cmd = ["unshare", "-Urm", "sh", "-c", MOUNT, "sh", str(d), mode, sys.executable, "-m", "berth.cli",
           *[a.format(**fill) for a in args]]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**__import__("os").environ, "BERTH_ERR": str(err)})
    lines = err.read_text().strip().splitlines()
    listing = res.stdout.split("rc=")[-1].splitlines()[1:]
    assert res.stdout.split("rc=")[-1].splitlines()[0] == "2", (res.stdout, lines)
    assert len(lines) == 1 and lines[0].startswith("berth: error:"), lines
    assert path.format(**fill) in lines[0] and CAUSES[mode] in lines[0], lines[0]
    assert listing == ([".fill"] if mode == "full" else []), listing  # nothing left behind
