"""Data: the embedded digits split, MNIST IDX and CIFAR-10 python batches written here in their formats."""

import gzip
import pickle

import numpy as np
import pytest

from berth.data.datasets import load_dataset, load_digits
from berth.data.readers import CIFAR_MD5, MNIST_FILES
from berth.core.errors import BerthError


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file: magic 0x0000 08 <ndim>, big-endian dims, data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root, n_train=12, n_test=6, gz=False, side=28):
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (n_train, side, side)), "train_labels": np.arange(n_train) % 10,
              "test_images": rng.integers(0, 256, (n_test, side, side)), "test_labels": np.arange(n_test) % 10}
    root.mkdir(exist_ok=True)
    for key, name in MNIST_FILES.items():
        data = idx_bytes(arrays[key])
        if gz:
            (root / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (root / name).write_bytes(data)
    return arrays


def test_digits_split_is_stratified_and_seeded():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert a.shape == (1, 8, 8) and a.num_classes == 10 and len(a.y_test) == 450
    assert (a.x_test == b.x_test).all() and not (a.x_test == c.x_test).all()
    assert np.bincount(a.y_test.numpy()).min() >= 44


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_loads_plain_and_gzipped(tmp_path, gz):
    arrays = write_mnist(tmp_path / "mnist", gz=gz)
    data = load_dataset("mnist", data_dir=str(tmp_path / "mnist"))
    assert data.x_train.shape == (12, 1, 28, 28) and data.x_test.shape == (6, 1, 28, 28)
    assert data.x_train.max() <= 1.0 and float(data.x_train[0, 0, 0, 0]) == pytest.approx(arrays["train_images"][0, 0, 0] / 255)
    assert data.y_train.tolist() == arrays["train_labels"].tolist()


def break_file(root, name, data):
    (root / name).write_bytes(data)


@pytest.mark.parametrize("case, fragment", [
    ("magic", "magic number 2049; expected 2051"),
    ("truncated", "needs exactly"),
    ("label", "label 12; allowed: 0..9"),
    ("count", "12 images but 5 labels"),
])
def test_mnist_malformed_files(tmp_path, case, fragment):
    root = tmp_path / "mnist"
    write_mnist(root)
    images, labels = root / MNIST_FILES["train_images"], root / MNIST_FILES["train_labels"]
    if case == "magic":
        images.write_bytes(idx_bytes(np.zeros(5, dtype=np.uint8)))
    elif case == "truncated":
        images.write_bytes(images.read_bytes()[:-7])
    elif case == "label":
        labels.write_bytes(idx_bytes(np.array([1, 12] + [0] * 10)))
    else:
        labels.write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(BerthError, match=fragment) as info:
        load_dataset("mnist", data_dir=str(root))
    assert "\n" not in str(info.value)


def test_mnist_missing_directory_or_files_say_what_to_put_where(tmp_path):
    with pytest.raises(BerthError, match="does not exist.*train-images-idx3-ubyte"):
        load_dataset("mnist", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(BerthError, match="needs a data directory"):
        load_dataset("mnist")
    root = tmp_path / "mnist"
    write_mnist(root)
    (root / MNIST_FILES["test_labels"]).unlink()
    with pytest.raises(BerthError, match=f"lacks {MNIST_FILES['test_labels']}\\[.gz\\]") as info:
        load_dataset("mnist", data_dir=str(root))
    assert str(root) in str(info.value)


def write_cifar(root, n=8, override=None):
    """Python batches as in cifar-10-python.tar.gz: protocol-2 pickles of dicts with bytes keys."""
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for k, name in enumerate(CIFAR_MD5):
        batch = {b"batch_label": name.encode(), b"labels": [(i + k) % 10 for i in range(n)],
                 b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 b"filenames": [f"img{i}.png".encode() for i in range(n)]}
        if override and name in override:
            batch.update(override[name])
        (base / name).write_bytes(pickle.dumps(batch, protocol=2))
    return base


def test_cifar10_loads_batches(tmp_path):
    base = write_cifar(tmp_path / "cifar")
    data = load_dataset("cifar10", data_dir=str(tmp_path / "cifar"))
    assert data.x_train.shape == (40, 3, 32, 32) and data.x_test.shape == (8, 3, 32, 32)
    raw = pickle.loads((base / "data_batch_1").read_bytes())
    assert float(data.x_train[0, 1, 0, 0]) == pytest.approx(raw[b"data"][0, 1024] / 255)
    assert data.y_train[:3].tolist() == [0, 1, 2] and data.num_classes == 10


@pytest.mark.parametrize("override, fragment", [
    ({b"data": np.zeros((8, 100), dtype=np.uint8)}, "shape \\(8, 100\\); expected uint8"),
    ({b"labels": [0] * 7 + [10]}, "label 10; allowed: 0..9"),
    ({b"labels": [0] * 5}, "8 images but 5 labels"),
])
def test_cifar10_malformed_batches(tmp_path, override, fragment):
    write_cifar(tmp_path / "cifar", override={"data_batch_3": override})
    with pytest.raises(BerthError, match=fragment) as info:
        load_dataset("cifar10", data_dir=str(tmp_path / "cifar"))
    assert "data_batch_3" in str(info.value)


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_cifar10_refuses_code_in_pickles_and_checks_official_md5(tmp_path):
    base = write_cifar(tmp_path / "cifar")
    sentinel = tmp_path / "pwned"
    (base / "data_batch_2").write_bytes(pickle.dumps({b"data": _Payload(str(sentinel))}, protocol=2))
    with pytest.raises(BerthError, match="refusing to load"):
        load_dataset("cifar10", data_dir=str(tmp_path / "cifar"))
    assert not sentinel.exists()
    official_size = {b"data": np.zeros((10000, 3072), dtype=np.uint8), b"labels": [0] * 10000}
    write_cifar(tmp_path / "cifar", override={"data_batch_1": official_size})
    with pytest.raises(BerthError, match="MD5 .* the official data_batch_1 has c99cafc1"):
        load_dataset("cifar10", data_dir=str(tmp_path / "cifar"))


def test_cifar10_missing_files(tmp_path):
    base = write_cifar(tmp_path / "cifar")
    (base / "test_batch").unlink()
    with pytest.raises(BerthError, match="lacks test_batch: put data_batch_1 .. data_batch_5 and test_batch"):
        load_dataset("cifar10", data_dir=str(tmp_path / "cifar"))
    with pytest.raises(BerthError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")
