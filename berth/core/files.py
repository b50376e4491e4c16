"""Atomic file and directory writes: write to a temporary sibling, then rename.

A reader (or a killed writer) never sees a half-written file; a failed write leaves the old
file untouched. Files and folders get the modes the user's umask gives (0644 / 0755 under the
usual 022), not the private modes of their temporary siblings.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def _umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


STALE_S = 3600.0  # a temporary sibling this old was left by a killed writer


def sweep_stale(path: Path) -> None:
    """Remove temporary siblings of ``path`` (``.<name>.*.tmp``) that a killed writer left behind
    more than STALE_S ago; a writer at work now is never touched."""
    cutoff = time.time() - STALE_S
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if tmp.lstat().st_mtime < cutoff:
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        except OSError:
            continue  # gone already, or not ours to remove


def make_folder(folder: Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, deepest first (for ``unmake``)."""
    created = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        created.append(parent)
    folder.mkdir(parents=True, exist_ok=True)
    return created


def unmake(created: list[Path]) -> None:
    """Remove folders ``make_folder`` created, as long as they are still empty."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (fsync'd temp file in the same directory, rename).

    A failure (no such folder, no permission, a full disk) is an OSError naming ``path`` itself,
    not the temporary file, and leaves nothing behind: no temporary file, no folder it created.
    """
    path = Path(path)
    created: list[Path] = []
    try:
        created = make_folder(path.parent)
        sweep_stale(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        unmake(created)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600: give the file the user's usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        unmake(created)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        unmake(created)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read a JSON file berth wrote; a damaged or foreign one is a one-line BerthError naming it."""
    from berth.core.errors import BerthError

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BerthError(f"{what} {str(path)!r} is damaged or not berth's ({exc}); remove it or regenerate it") from None


def check_writable(folder: str | os.PathLike, keep: bool = True) -> Path:
    """Make sure files can be written under ``folder`` (created if missing) before long work
    starts; an OSError naming the folder otherwise. ``keep=False`` removes the folders the check
    created (the writes that follow make them), so work refused later leaves nothing behind."""
    folder = Path(folder)
    created: list[Path] = []
    try:
        created = make_folder(folder)
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"\0" * 4096)  # a full disk refuses data, not always an empty file
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        unmake(created)
        raise OSError(exc.errno, exc.strerror, str(folder)) from None
    if not keep:
        unmake(created)
    return folder


def atomic_savefig(fig: Any, path: str | os.PathLike, **kw: Any) -> Path:
    """Save a matplotlib figure atomically, in the format its suffix names (png, pdf, svg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", **kw)
    return atomic_write_bytes(path, buf.getvalue())


@contextmanager
def atomic_directory(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Build a directory in a temporary sibling and rename it to ``path`` on success.

    With ``replace`` an existing ``path`` is swapped out only after the new one is complete.
    On any exception the temporary directory is removed and ``path`` is left as it was.
    """
    path = Path(path)
    created: list[Path] = []
    try:
        created = make_folder(path.parent)
        sweep_stale(path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        unmake(created)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700
        yield tmp
        if path.exists() and replace:
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        unmake(created)
        if not str(exc.filename or "").startswith(str(tmp)):
            raise
        inside = str(exc.filename).replace(str(tmp), str(path), 1)  # name the real path, not the temporary
        raise OSError(exc.errno, exc.strerror, inside) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        unmake(created)
        raise


def package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed berth package (RTL, templates, benches, profiles).

    Located through ``importlib.resources``, so it works from a source checkout, an editable or a
    regular install alike; callers only read it, never write beside it.
    """
    from importlib import resources

    return Path(str(resources.files(package).joinpath(*parts)))


def work_dir(root: str | os.PathLike | None, default: str) -> Path:
    """Where build or simulation outputs go: ``root`` if given, else ``default`` under the
    current working directory (never inside the installed package)."""
    return Path(root if root is not None else Path.cwd() / default).resolve()
