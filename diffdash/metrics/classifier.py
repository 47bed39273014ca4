"""The judge of sample quality: a small LeNet-style MNIST classifier, trained once per data set and cached.

Inception features mean nothing on 28x28 digits, so diffdash measures samples the way MNIST papers do:
with a classifier trained on MNIST. Its penultimate layer (128 features) is the feature space of
"FID (MNIST classifier)"; its predictions give the digit histogram. The cache file holds the weights,
the test accuracy and the real test-split feature statistics, and is loaded with weights_only=True.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffdash.fsutil import atomic_write
from diffdash.mnist.load import DATA_HIGH, DATA_LOW, MnistData, default_data_dir, to_tensor

CACHE_VERSION = 1
FEATURES = 128
DEFAULT_EPOCHS = 3
Progress = Callable[[int, int, float], None]  # (steps done, steps in all, last loss)


class LeNet(nn.Module):
    """conv5-pool-conv5-pool-fc128-fc10: ~0.2 M parameters, ~99 % on MNIST after a few epochs on a CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(32 * 7 * 7, FEATURES), nn.ReLU())
        self.head = nn.Linear(FEATURES, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations, (N, 128): the space FID is measured in."""
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def cache_dir_for(data_dir: str | Path | None) -> Path:
    """A --data-dir the user gave, unless it is marked read-only (a shared data folder); else the data cache."""
    if data_dir:
        folder = Path(data_dir).expanduser()
        try:
            if not folder.exists() or folder.stat().st_mode & stat.S_IWUSR:
                return folder
        except OSError:
            pass
    return default_data_dir()


def cache_path(name: str, cache_dir: str | Path | None = None) -> Path:
    """Where the classifier of data set `name` lives: <data cache>/classifiers/lenet-<name>-v1.pt."""
    return cache_dir_for(cache_dir) / "classifiers" / f"lenet-{name}-v{CACHE_VERSION}.pt"


def _batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i : i + size]


@torch.no_grad()
def run_in_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, size: int = 1000) -> torch.Tensor:
    return torch.cat([fn(b) for b in _batches(x, size)]) if len(x) else torch.empty(0)


def train_classifier(
    data: MnistData,
    *,
    epochs: int = DEFAULT_EPOCHS,
    max_steps: int | None = None,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[LeNet, dict[str, Any]]:
    """Train on the training split (Adam, seeded: same data, same net); returns the net and its scores."""
    t0 = time.monotonic()
    x = to_tensor(data.train_images)
    y = torch.from_numpy(data.train_labels.astype("int64"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = LeNet()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    per_epoch = (len(x) + batch_size - 1) // batch_size
    total = per_epoch * epochs if max_steps is None else min(max_steps, per_epoch * epochs)
    step = 0
    net.train()
    while step < total:
        perm = torch.randperm(len(x), generator=gen)
        for i in range(per_epoch):
            if step >= total:
                break
            idx = perm[i * batch_size : (i + 1) * batch_size]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if progress is not None:
                progress(step, total, float(loss.detach()))
    net.eval()
    info = {
        "data": data.info.get("name"),
        "n_train": len(x),
        "n_test": len(data.test_images),
        "steps": total,
        "epochs": round(total / per_epoch, 3),
        "seconds": round(time.monotonic() - t0, 1),
        "test_accuracy": accuracy(net, data),
    }
    return net, info


def accuracy(net: LeNet, data: MnistData) -> float:
    x = to_tensor(data.test_images)
    y = torch.from_numpy(data.test_labels.astype("int64"))
    pred = run_in_batches(lambda b: net(b).argmax(1), x)
    return float((pred == y).float().mean())


class Classifier:
    """A trained LeNet plus the real test split's feature statistics (mean, covariance) for FID."""

    def __init__(self, net: LeNet, info: dict[str, Any], real_mu: torch.Tensor, real_sigma: torch.Tensor):
        self.net = net.eval()
        self.info = info
        self.real_mu = real_mu
        self.real_sigma = real_sigma

    @property
    def test_accuracy(self) -> float:
        return float(self.info["test_accuracy"])

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in the data range -> (N, 128); samples are clamped to the range a grid would show."""
        x = x.detach().float().cpu().clamp(DATA_LOW, DATA_HIGH)
        return run_in_batches(self.net.features, x)

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach().float().cpu().clamp(DATA_LOW, DATA_HIGH)
        return run_in_batches(lambda b: self.net(b).softmax(1), x)

    def state(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "model": self.net.state_dict(),
            "info": self.info,
            "real_mu": self.real_mu,
            "real_sigma": self.real_sigma,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Classifier:
        net = LeNet()
        net.load_state_dict(state["model"])
        return cls(net, dict(state["info"]), state["real_mu"], state["real_sigma"])


def build_classifier(data: MnistData, **train_kw: Any) -> Classifier:
    """Train a classifier and compute the real statistics of the test split in its feature space."""
    from diffdash.metrics.fid import feature_stats

    net, info = train_classifier(data, **train_kw)
    feats = run_in_batches(net.features, to_tensor(data.test_images))
    mu, sigma = feature_stats(feats)
    return Classifier(net, info, mu, sigma)


def load_classifier(path: str | Path) -> Classifier:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("version") != CACHE_VERSION:
        raise ValueError(f"{path} is a version {state.get('version')} classifier, expected {CACHE_VERSION}")
    return Classifier.from_state(state)


def _matches(clf: Classifier, data: MnistData) -> bool:
    i = clf.info
    return i.get("data") == data.info.get("name") and (i.get("n_train"), i.get("n_test")) == (
        len(data.train_images),
        len(data.test_images),
    )


def get_classifier(
    data: MnistData,
    cache_dir: str | Path | None = None,
    *,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda _m: None,
    **train_kw: Any,
) -> Classifier:
    """The cached classifier of this data set, trained (and cached) first if there is none yet."""
    name = data.info.get("name", "mnist")
    path = cache_path(name, cache_dir)
    if path.is_file():
        try:
            clf = load_classifier(path)
            if _matches(clf, data):
                return clf
            say(f"the cached classifier {path} was trained on other data: training a new one")
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            say(f"the cached classifier {path} is unreadable ({exc}): training a new one")
    say(f"training the MNIST classifier used for sample metrics on {data.describe()} (once; cached in {path})")
    clf = build_classifier(data, progress=progress, **train_kw)
    say(f"classifier test accuracy {clf.test_accuracy:.2%} after {clf.info['seconds']:.0f} s")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: torch.save(clf.state(), f))
    except OSError as exc:
        say(f"could not cache the classifier in {path} ({exc}): it will be trained again next time")
    return clf
