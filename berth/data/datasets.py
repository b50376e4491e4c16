"""Data sets as in-memory tensors; the embedded default needs no download.

``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 16 grey levels),
scaled to [0, 1], shape (N, 1, 8, 8), with a stratified train/test split fixed by a seed.
``mnist`` (N, 1, 28, 28) and ``cifar10`` (N, 3, 32, 32): read from a local directory the user
names (``data_dir``), with their official train/test split, scaled to [0, 1]; see
``berth.data.readers`` for the files and the checks. ``npz`` and ``images``: the user's own data
(one ``.npz`` file, or class folders of PNG/JPEG), see ``berth.data.own``. Nothing is ever
downloaded. Every data set carries its identity (where it came from, file hashes, counts), which
results record beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from berth.core.errors import BerthError, check_choice


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of one data set (NCHW float32 images, int64 labels)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    identity: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(self.y_train.max()) + 1

    def check_fits(self, what: str, shape: tuple[int, ...], outputs: int | None) -> None:
        """A model (``what``, e.g. "QONNX file 'x.onnx'") of (C, H, W) ``shape`` inputs and
        ``outputs`` values per input (None: unknown) must take these images and cover these
        classes: else one line naming both."""
        if tuple(shape) != self.shape:
            raise BerthError(f"{what} takes (C, H, W) = {tuple(shape)} inputs; the {self.name} data's images are "
                             f"{self.shape}")
        if outputs is not None and outputs < self.num_classes:
            raise BerthError(f"{what} outputs {outputs} values per input; the {self.name} data has "
                             f"{self.num_classes} classes")


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with each class split in the same proportion, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(len(idx) * test_fraction))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_digits(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """scikit-learn's digits, scaled to [0, 1], stratified split."""
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    tr, te = stratified_split(y, test_fraction, seed)
    return Dataset("digits", torch.from_numpy(x[tr]), torch.from_numpy(y[tr]),
                   torch.from_numpy(x[te]), torch.from_numpy(y[te]))


def _images(x: np.ndarray) -> torch.Tensor:
    """uint8 images (N, C, H, W) as float32 in [0, 1]."""
    return torch.from_numpy(x.astype(np.float32) / 255.0)


def load_mnist(data_dir: str | Path | None = None, seed: int = 0) -> Dataset:
    """MNIST from the four IDX files in ``data_dir`` (official split; ``seed`` is unused)."""
    from berth.data.readers import mnist_paths, read_mnist_split

    paths = mnist_paths(data_dir)
    x_tr, y_tr = read_mnist_split(paths["train_images"], paths["train_labels"])
    x_te, y_te = read_mnist_split(paths["test_images"], paths["test_labels"])
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise BerthError(f"MNIST train images are {x_tr.shape[1:]} but test images are {x_te.shape[1:]}")
    return Dataset("mnist", _images(x_tr[:, None]), torch.from_numpy(y_tr), _images(x_te[:, None]), torch.from_numpy(y_te))


def load_cifar10(data_dir: str | Path | None = None, seed: int = 0) -> Dataset:
    """CIFAR-10 from its python batches in ``data_dir`` (official split; ``seed`` is unused)."""
    from berth.data.readers import cifar_dir, read_cifar_batch

    base = cifar_dir(data_dir)
    train = [read_cifar_batch(base / f"data_batch_{i}") for i in range(1, 6)]
    x_te, y_te = read_cifar_batch(base / "test_batch")
    x_tr = np.concatenate([x for x, _ in train])
    y_tr = np.concatenate([y for _, y in train])
    return Dataset("cifar10", _images(x_tr), torch.from_numpy(y_tr), _images(x_te), torch.from_numpy(y_te))


def _own(name: str, arrays: tuple[np.ndarray, ...]) -> Dataset:
    x_tr, y_tr, x_te, y_te = (torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)
    return Dataset(name, x_tr, y_tr, x_te, y_te)


def load_npz(data_dir: str | Path | None = None, seed: int = 0) -> Dataset:
    """The user's ``.npz`` file (its own split; ``seed`` is unused)."""
    from berth.data.own import read_npz

    return _own("npz", read_npz(data_dir))


def load_images(data_dir: str | Path | None = None, seed: int = 0) -> Dataset:
    """The user's class folders of images (its own split; ``seed`` is unused)."""
    from berth.data.own import read_image_folders

    return _own("images", read_image_folders(data_dir))


DATASETS = {"digits": load_digits, "mnist": load_mnist, "cifar10": load_cifar10, "npz": load_npz,
            "images": load_images}
NEEDS_DIR = ("mnist", "cifar10", "npz", "images")


def identity(data: Dataset, seed: int, data_dir: str | Path | None) -> dict[str, Any]:
    """What identifies the data a result was computed on: name, split seed, where its files are and
    their SHA-256, image shape, counts and classes."""
    from berth.data.own import file_hashes

    out: dict[str, Any] = {"name": data.name, "seed": seed, "shape": list(data.shape),
                           "train": int(len(data.y_train)), "test": int(len(data.y_test)),
                           "classes": data.num_classes}
    if data.name in NEEDS_DIR:
        out.update(data_dir=str(Path(data_dir).expanduser().resolve()), files=file_hashes(data_dir))
    else:
        out["source"] = "scikit-learn load_digits (bundled)"
    return out


def load_dataset(name: str, seed: int = 0, data_dir: str | Path | None = None, **kw) -> Dataset:
    """Load data set ``name`` (see DATASETS); ``data_dir`` is where the files of mnist, cifar10,
    npz and images data live. The result carries its ``identity``."""
    check_choice("dataset", name, tuple(DATASETS))
    if name in NEEDS_DIR:
        data = DATASETS[name](data_dir=data_dir, seed=seed, **kw)
    else:
        data = DATASETS[name](seed=seed, **kw)
    return Dataset(data.name, data.x_train, data.y_train, data.x_test, data.y_test, identity(data, seed, data_dir))
