"""The user's own data in two generic formats, checked in full before anything trains.

* ``npz``: one ``.npz`` file (``data_dir`` names it) holding ``x_train``, ``y_train``, ``x_test``,
  ``y_test``. Images are (N, H, W) or (N, C, H, W) with H = W; uint8 (0..255, scaled to [0, 1])
  or floating point already in [0, 1]. Labels are integers 0..K-1 with every class present in
  training. Read with ``allow_pickle=False``.
* ``images``: a folder (``data_dir``) with ``train/<class>/`` and ``test/<class>/`` subfolders of
  PNG or JPEG files (read by Pillow); class names sorted give labels 0..K-1, and the test classes
  must be the training classes. All images must have one size (square) and one mode: 8-bit
  grayscale ("L") gives one channel, anything else is converted to RGB.

Every problem is a one-line BerthError naming the file or folder and what was expected.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from berth.core.errors import BerthError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _path(data_dir: str | Path | None, what: str, expected: str) -> Path:
    if data_dir is None or str(data_dir) == "":
        raise BerthError(f"dataset {what!r} needs data_dir: {expected}")
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise BerthError(f"data_dir {str(path)!r} does not exist; expected {expected}")
    return path


def _images(x: np.ndarray, where: str) -> np.ndarray:
    """Images as float32 (N, C, H, W) in [0, 1], checked."""
    shape = x.shape
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise BerthError(f"{where} has shape {shape}; expected (N, H, W) or (N, C, H, W) with H = W")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise BerthError(f"{where} has dtype {x.dtype}; expected uint8 (0..255) or floats in [0, 1]")
    if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise BerthError(f"{where} holds values outside [0, 1] (min {x.min():g}, max {x.max():g}); "
                         "scale them to [0, 1] or store uint8")
    return x.astype(np.float32)


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise BerthError(f"{where} has shape {y.shape} and dtype {y.dtype}; expected N integer labels")
    return y.astype(np.int64)


def check_split(x_tr, y_tr, x_te, y_te, where: str) -> None:
    """Equal counts, one image shape, labels 0..K-1 with every training class present."""
    for part, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        if len(x) != len(y):
            raise BerthError(f"{where}: x_{part} holds {len(x)} images but y_{part} {len(y)} labels; "
                             "expected one label per image")
        if len(x) == 0:
            raise BerthError(f"{where}: the {part} split is empty")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise BerthError(f"{where}: train images are {x_tr.shape[1:]} but test images {x_te.shape[1:]}")
    classes = int(y_tr.max()) + 1
    missing = sorted(set(range(classes)) - set(np.unique(y_tr).tolist()))
    if y_tr.min() < 0 or missing:
        raise BerthError(f"{where}: training labels must be 0..K-1 with every class present "
                         f"(min {int(y_tr.min())}, missing {missing[:5]})")
    if y_te.min() < 0 or y_te.max() >= classes:
        raise BerthError(f"{where}: test label {int(y_te.max() if y_te.max() >= classes else y_te.min())} "
                         f"is not a training class; allowed: 0..{classes - 1}")


def read_npz(data_dir: str | Path | None) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of an ``.npz`` file, checked."""
    path = _path(data_dir, "npz", f"an .npz file with {', '.join(NPZ_KEYS)}")
    if not zipfile.is_zipfile(path):
        raise BerthError(f"{str(path)!r} is not an .npz file (not a zip archive); expected one numpy.savez wrote with "
                         f"{', '.join(NPZ_KEYS)}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in NPZ_KEYS if k not in z.files]
            if missing:
                raise BerthError(f"{str(path)!r} lacks {', '.join(missing)}; expected {', '.join(NPZ_KEYS)}")
            arrays = {k: z[k] for k in NPZ_KEYS}
    except (OSError, ValueError) as exc:
        raise BerthError(f"{str(path)!r} is not a readable .npz file ({exc})") from None
    x_tr = _images(arrays["x_train"], f"{path.name}: x_train")
    x_te = _images(arrays["x_test"], f"{path.name}: x_test")
    y_tr = _labels(arrays["y_train"], f"{path.name}: y_train")
    y_te = _labels(arrays["y_test"], f"{path.name}: y_test")
    check_split(x_tr, y_tr, x_te, y_te, str(path))
    return x_tr, y_tr, x_te, y_te


def _class_files(folder: Path) -> dict[str, list[Path]]:
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise BerthError(f"{str(folder)!r} has no class folders; expected {folder.name}/<class>/*.png")
    files = {c.name: sorted(f for f in c.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) for c in classes}
    empty = [name for name, found in files.items() if not found]
    if empty and folder.name == "train":  # a class without training images would vanish from the labels
        raise BerthError(f"{str(folder / empty[0])!r} holds no PNG or JPEG images; every class needs training images")
    return files


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img if img.mode == "L" else img.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise BerthError(f"cannot read image {str(path)!r} ({exc})") from None


def read_image_folders(data_dir: str | Path | None) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of ``train/<class>/`` and ``test/<class>/`` folders."""
    root = _path(data_dir, "images", "a folder with train/<class>/*.png and test/<class>/*.png")
    parts = {}
    for part in ("train", "test"):
        if not (root / part).is_dir():
            raise BerthError(f"{str(root)!r} has no {part}/ folder; expected train/<class>/ and test/<class>/")
        parts[part] = _class_files(root / part)
    names = list(parts["train"])
    extra = sorted(set(parts["test"]) - set(names))
    if extra:
        raise BerthError(f"{str(root / 'test')!r} has classes {extra} that train/ lacks; allowed: {', '.join(names)}")
    out = []
    shape = None
    for part in ("train", "test"):
        xs, ys = [], []
        for label, name in enumerate(names):
            for f in parts[part].get(name, []):
                img = _read_image(f)
                shape = shape or img.shape
                if img.shape != shape:
                    raise BerthError(f"image {str(f)!r} is {img.shape}; the others are {shape} (one size and mode)")
                xs.append(img)
                ys.append(label)
        if not xs:
            raise BerthError(f"{str(root / part)!r} holds no PNG or JPEG images")
        x = np.stack(xs)
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        out += [_images(x, str(root / part)), np.asarray(ys, dtype=np.int64)]
    check_split(*out, str(root))
    return tuple(out)


def file_hashes(data_dir: str | Path) -> dict[str, str]:
    """SHA-256 of the data's files (one file, or every file under a folder), keyed by relative path."""
    root = Path(data_dir).expanduser()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(f.relative_to(root)) if f != root else f.name: file_sha256(f) for f in files}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of one file's content (hex), read a megabyte at a time."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
