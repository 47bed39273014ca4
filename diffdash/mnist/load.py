"""Find MNIST: a folder of official idx files, a torchvision download, or the subset shipped in the package.

Everything returns uint8 arrays; `to_tensor` applies the starter notebook's normalisation
(ToTensor then Normalize((0.5,), (1.0,))), so pixels lie in [-0.5, 0.5].
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffdash.mnist.digits import BUNDLED_DIR, DATA_HIGH, DATA_LOW, to_tensor  # noqa: F401 - re-exported
from diffdash.mnist.idx import IdxError, read_idx
from diffdash.options.run_options import DATASETS  # noqa: F401 - declared with the --dataset option

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class DataError(ValueError):
    """MNIST files that exist but cannot be used; the message names the file and the problem."""


@dataclass
class MnistData:
    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    info: dict  # what was actually used: recorded in the run's config

    def describe(self) -> str:
        return f"{self.info['name']} ({self.info['n_train']:,} train / {self.info['n_test']:,} test)"


def default_data_dir() -> Path:
    env = os.environ.get("DIFFDASH_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "diffdash" / "data"


def _find_file(folder: Path, stem: str) -> Path | None:
    for sub in (folder, folder / "MNIST" / "raw", folder / "raw"):
        for name in (stem, stem + ".gz"):
            if (sub / name).is_file():
                return sub / name
    return None


def find_idx_folder(folder: Path) -> dict[str, Path] | None:
    """Return the four idx files under `folder` (plain, gz, or torchvision's MNIST/raw layout)."""
    found = {key: _find_file(folder, stem) for key, stem in FILES.items()}
    return found if all(found.values()) else None  # type: ignore[return-value]


def _load_files(files: dict[str, Path], info: dict) -> MnistData:
    try:
        arrays = {key: read_idx(path) for key, path in files.items()}
    except IdxError as exc:
        raise DataError(str(exc)) from None
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise DataError(f"{files[f'{split}_images']} holds {images.dtype} {images.shape}, not 28x28 uint8 digits")
        if labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{files[f'{split}_labels']} holds {labels.shape} labels for {len(images)} images in "
                f"{files[f'{split}_images'].name}"
            )
        if len(images) == 0:
            raise DataError(f"{files[f'{split}_images']} holds no images")
    info = {**info, "n_train": len(arrays["train_images"]), "n_test": len(arrays["test_images"])}
    return MnistData(**arrays, info=info)


def load_bundled() -> MnistData:
    files = find_idx_folder(BUNDLED_DIR)
    if files is None:
        raise FileNotFoundError(f"the bundled MNIST subset is missing from {BUNDLED_DIR}")
    return _load_files(files, {"name": "mnist-small", "source": "bundled subset of real MNIST"})


def _download(folder: Path) -> dict[str, Path] | None:
    """torchvision's download into `folder`; on failure the folders it made are removed again."""
    import shutil
    import socket

    from torchvision.datasets import MNIST

    made = next((p for p in (*reversed(folder.parents), folder) if not p.exists()), None)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        MNIST(str(folder), train=True, download=True)
        MNIST(str(folder), train=False, download=True)
    except Exception:  # noqa: BLE001 - any failure means "offline": fall back
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        return None
    finally:
        socket.setdefaulttimeout(old)
    return find_idx_folder(folder)


def load_mnist(
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    download: bool = True,
    say: Callable[[str], None] = lambda _msg: None,
) -> MnistData:
    """Load the data set a run asked for; fall back to the bundled subset when full MNIST can't be had."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    if dataset == "mnist-small":
        return load_bundled()
    folder = Path(data_dir).expanduser() if data_dir else default_data_dir()
    files = find_idx_folder(folder)
    if files is None and download:
        say(f"MNIST not found in {folder}: downloading it there")
        files = _download(folder)
    if files is not None:
        return _load_files(files, {"name": "mnist", "source": str(files["train_images"].parent)})
    data = load_bundled()
    say(
        f"Full MNIST is not in {folder} and could not be downloaded (offline?): "
        f"training on the bundled subset, {data.describe()}. "
        "Pass --data-dir to a folder of the official idx files to use all 60,000 digits."
    )
    data.info["fallback_from"] = str(folder)
    return data


def run_tensors(data: MnistData, train_limit: int | None, val_limit: int | None, device: str = "cpu"):
    """(train_x, val_x): a run's training and held-out digits as tensors, cut to its --train-limit and
    --val-limit. Training and every later command (sample, eval) read the run's data through this one cut."""
    train = data.train_images[:train_limit] if train_limit else data.train_images
    test = data.test_images[:val_limit] if val_limit else data.test_images
    return to_tensor(train, device), to_tensor(test, device)


def run_labels(data: MnistData, train_limit: int | None, val_limit: int | None, device: str = "cpu"):
    """(train_y, val_y): the labels of `run_tensors`' digits, as long tensors, for class-conditional runs."""
    import torch

    train = data.train_labels[:train_limit] if train_limit else data.train_labels
    test = data.test_labels[:val_limit] if val_limit else data.test_labels
    return (
        torch.as_tensor(train.astype(np.int64), device=device),
        torch.as_tensor(test.astype(np.int64), device=device),
    )
