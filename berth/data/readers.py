"""Readers for data sets the user keeps on disk: MNIST's IDX files and CIFAR-10's python batches.

Nothing is downloaded. Every file is checked before it is used, and every problem is a one-line
BerthError naming the file:

* MNIST (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``, each optionally gzipped as ``<name>.gz``): magic number
  (2051 images, 2049 labels), the file size must equal header + payload exactly (IDX has no
  checksum; its size is the check), square images, equal image/label counts, labels 0..9.
* CIFAR-10 (``data_batch_1`` .. ``data_batch_5``, ``test_batch`` of cifar-10-python.tar.gz,
  in the directory or its ``cifar-10-batches-py`` subdirectory): the pickles are read by an
  unpickler that only rebuilds plain containers and NumPy arrays (no other code runs);
  ``data`` must be uint8 (N, 3072), ``labels`` N values in 0..9; a batch with the official
  10000 images must match the official MD5 (the values torchvision uses).
"""

from __future__ import annotations

import gzip
import io
import hashlib
import pickle
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_MAGIC = {3: 2051, 1: 2049}

CIFAR_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
CIFAR_OFFICIAL_COUNT = 10000


def _check_dir(root: str | Path | None, what: str, files: str) -> Path:
    if root is None or str(root) == "":
        raise BerthError(f"{what} needs a data directory (set data_dir): put {files} in it")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise BerthError(f"{what} data directory {str(root)!r} does not exist: create it and put {files} in it")
    return root


def mnist_paths(root: str | Path | None) -> dict[str, Path]:
    """Paths of the four MNIST files in ``root`` (plain or .gz); a missing one is an error saying what to put where."""
    listing = ", ".join(f"{n}[.gz]" for n in MNIST_FILES.values())
    root = _check_dir(root, "MNIST", listing)
    paths, missing = {}, []
    for key, name in MNIST_FILES.items():
        found = [p for p in (root / name, root / f"{name}.gz") if p.is_file()]
        if found:
            paths[key] = found[0]
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        raise BerthError(f"MNIST data directory {str(root)!r} lacks {', '.join(missing)}: put the four IDX files "
                         f"({listing}) from the MNIST distribution there")
    return paths


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX array of ``ndim`` dimensions, with magic number and exact size checked."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BerthError(f"MNIST file {str(path)!r} cannot be read ({exc})") from None
    header = 4 + 4 * ndim
    magic = int.from_bytes(raw[:4], "big")
    if magic != IDX_MAGIC[ndim]:
        raise BerthError(f"MNIST file {str(path)!r} has magic number {magic}; expected {IDX_MAGIC[ndim]} "
                         f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})")
    if len(raw) < header:
        raise BerthError(f"MNIST file {str(path)!r} is truncated: {len(raw)} bytes, shorter than its {header}-byte header")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise BerthError(f"MNIST file {str(path)!r} has {len(raw)} bytes; its header {dims} needs exactly {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_mnist_split(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, H, W), labels int64 (N,)) of one split, validated."""
    x = read_idx(images, 3)
    y = read_idx(labels, 1).astype(np.int64)
    if x.shape[1] != x.shape[2] or x.shape[0] == 0:
        raise BerthError(f"MNIST file {str(images)!r} holds images of shape {x.shape}; expected (N>0, H, H)")
    if len(x) != len(y):
        raise BerthError(f"MNIST files {str(images)!r} and {str(labels)!r} hold {len(x)} images but {len(y)} labels")
    _check_labels(y, labels, "MNIST")
    return x, y


def _check_labels(y: np.ndarray, path: Path, what: str, classes: int = 10) -> None:
    bad = y[(y < 0) | (y >= classes)]
    if bad.size:
        raise BerthError(f"{what} file {str(path)!r} has label {int(bad[0])}; allowed: 0..{classes - 1}")


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, bytes, numbers and NumPy arrays; refuses every other global.

    The only callables it hands out are NumPy's array reconstructor and ``codecs.encode``.
    """

    def find_class(self, module: str, name: str):
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if (module, name) == ("_codecs", "encode"):  # how Python 3 protocol-2 pickles store bytes
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def cifar_dir(root: str | Path | None) -> Path:
    """The directory holding the CIFAR-10 batches (``root`` or ``root/cifar-10-batches-py``)."""
    listing = "data_batch_1 .. data_batch_5 and test_batch (cifar-10-python.tar.gz, extracted)"
    root = _check_dir(root, "CIFAR-10", listing)
    base = root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").is_dir() else root
    missing = [n for n in CIFAR_MD5 if not (base / n).is_file()]
    if missing:
        raise BerthError(f"CIFAR-10 data directory {str(base)!r} lacks {', '.join(missing)}: put {listing} there")
    return base


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) of one python batch, validated."""
    raw = path.read_bytes()
    try:
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means "not a CIFAR-10 batch"
        raise BerthError(f"CIFAR-10 file {str(path)!r} is not a readable python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise BerthError(f"CIFAR-10 file {str(path)!r} is not a python batch (needs 'data' and 'labels' entries)")
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise BerthError(f"CIFAR-10 file {str(path)!r} has data of shape {shape}; expected uint8 (N, 3072)")
    try:
        labels = np.asarray(batch[b"labels"], dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise BerthError(f"CIFAR-10 file {str(path)!r} has labels that are not integers") from None
    if len(labels) != len(data):
        raise BerthError(f"CIFAR-10 file {str(path)!r} holds {len(data)} images but {len(labels)} labels")
    _check_labels(labels, path, "CIFAR-10")
    if len(data) == CIFAR_OFFICIAL_COUNT and path.name in CIFAR_MD5:
        digest = hashlib.md5(raw).hexdigest()
        if digest != CIFAR_MD5[path.name]:
            raise BerthError(f"CIFAR-10 file {str(path)!r} has MD5 {digest}; the official {path.name} has "
                             f"{CIFAR_MD5[path.name]} (corrupt or modified file)")
    return data.reshape(-1, 3, 32, 32), labels
