"""Data sets as in-memory tensors; the embedded default needs no download.

``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 16 grey levels),
scaled to [0, 1], shape (N, 1, 8, 8), with a stratified train/test split fixed by a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from berth.errors import check_choice


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of one data set (NCHW float32 images, int64 labels)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(self.y_train.max()) + 1


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


DATASETS = {"digits": load_digits}


def load_dataset(name: str, seed: int = 0, **kw) -> Dataset:
    """Load data set ``name`` (see DATASETS)."""
    check_choice("dataset", name, tuple(DATASETS))
    return DATASETS[name](seed=seed, **kw)
