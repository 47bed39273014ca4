"""Finding MNIST: folders of idx files (.gz or not), the bundled subset, the offline fallback."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from mnist_support import SHARED_MNIST, needs_full_mnist

from diffdash.mnist.idx import read_idx
from diffdash.mnist.load import BUNDLED_DIR, load_bundled, load_mnist, to_tensor


def test_bundled_subset_is_real_balanced_and_small(small_data):
    total = sum(p.stat().st_size for p in BUNDLED_DIR.iterdir())
    assert total <= 2 * 1024 * 1024
    assert small_data.train_images.shape == (10_000, 28, 28) and small_data.test_images.shape == (1_000, 28, 28)
    assert np.bincount(small_data.train_labels).tolist() == [1000] * 10
    assert np.bincount(small_data.test_labels).tolist() == [100] * 10
    assert small_data.train_images.dtype == np.uint8 and small_data.train_images.max() == 255


@needs_full_mnist
def test_bundled_digits_are_real_mnist_digits(small_data):
    full = read_idx(SHARED_MNIST / "t10k-images-idx3-ubyte.gz")
    rows = {full[i].tobytes() for i in range(len(full))}
    assert all(small_data.test_images[i].tobytes() in rows for i in range(0, 1000, 50))


@needs_full_mnist
def test_rebuilding_the_subset_is_byte_identical(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build", BUNDLED_DIR.parents[2] / "scripts/build_bundled_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main(str(SHARED_MNIST))
    for p in BUNDLED_DIR.iterdir():
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), p.name


@needs_full_mnist
@pytest.mark.parametrize("layout", ["gz", "plain", "torchvision"])
def test_folder_of_official_files_loads_offline(tmp_path, layout):
    folder = tmp_path / "d"
    target = folder / "MNIST" / "raw" if layout == "torchvision" else folder
    target.mkdir(parents=True)
    for src in SHARED_MNIST.glob("t*-idx*-ubyte.gz"):
        if layout == "gz":
            shutil.copy(src, target / src.name)
        else:
            with gzip.open(src) as fin, open(target / src.name[:-3], "wb") as fout:
                shutil.copyfileobj(fin, fout)
    data = load_mnist("mnist", folder, download=False)
    assert data.info["name"] == "mnist" and data.info["n_train"] == 60_000 and data.info["n_test"] == 10_000


def test_offline_without_mnist_falls_back_and_says_so(tmp_path):
    said = []
    data = load_mnist("mnist", tmp_path / "empty", download=False, say=said.append)
    assert data.info["name"] == "mnist-small" and data.info["fallback_from"].endswith("empty")
    assert said and "bundled subset" in said[0] and "--data-dir" in said[0]


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_mnist("cifar")


def test_normalisation_matches_the_starter():
    data = load_bundled()
    x = to_tensor(data.test_images[:5])
    expected = data.test_images[:5].astype(np.float32) / 255.0 - 0.5
    assert x.shape == (5, 1, 28, 28)
    assert np.allclose(x[:, 0].numpy(), expected)
    assert x.min() >= -0.5 and x.max() <= 0.5
