"""Engine vs the coursework starter's loop, side by side in one process, same model and batch size.

(a) starter: torchvision MNIST with per-sample ToTensor/Normalize, a DataLoader, the starter DDPM;
    its epoch ends with a 16-sample grid from the 1000-step ancestral sampler.
(b) diffdash: the Engine (tensors on the device, shuffled each epoch), fp32 and bf16; its epoch ends with
    validation and the default preview (DDIM, 50 steps).

    python benchmarks/bench_engine.py                       # bundled subset (10,000 digits)
    python benchmarks/bench_engine.py --data-dir ../shared/mnist --limit 12800

Prints images/s and the ratio to the starter, and the wall time of one epoch including its grid.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch import nn


def starter_folder(src: Path, dst: Path) -> Path:
    """torchvision's MNIST wants unzipped files in <root>/MNIST/raw."""
    raw = dst / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        gz = src / f"{stem}.gz"
        if gz.is_file():
            with gzip.open(gz) as fin, open(raw / stem, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copy(src / stem, raw / stem)
    return dst


class StarterDDPM(nn.Module):
    """The starter notebook's DDPM module (noise prediction, ancestral sampler), for the baseline."""

    def __init__(self, gt: nn.Module, betas=(1e-4, 0.02), n_T=1000):
        super().__init__()
        from diffdash.diffusion.schedules import ddpm_schedules

        self.gt = gt
        for k, v in ddpm_schedules(betas[0], betas[1], n_T).items():
            self.register_buffer(k, v)
        self.n_T = n_T
        self.criterion = nn.MSELoss()

    def forward(self, x):
        t = torch.randint(1, self.n_T, (x.shape[0],), device=x.device)
        eps = torch.randn_like(x)
        alpha_t = self.alpha_t[t, None, None, None]
        z_t = torch.sqrt(alpha_t) * x + torch.sqrt(1 - alpha_t) * eps
        return self.criterion(eps, self.gt(z_t, t / self.n_T))

    def sample(self, n_sample, size, device):
        _one = torch.ones(n_sample, device=device)
        z_t = torch.randn(n_sample, *size, device=device)
        for i in range(self.n_T, 0, -1):
            alpha_t, beta_t = self.alpha_t[i], self.beta_t[i]
            z_t -= (beta_t / torch.sqrt(1 - alpha_t)) * self.gt(z_t, (i / self.n_T) * _one)
            z_t /= torch.sqrt(1 - beta_t)
            if i > 1:
                z_t += torch.sqrt(beta_t) * torch.randn_like(z_t)
        return z_t


def run_starter(root: Path, n_hidden, limit: int | None, workers: int, out: Path) -> dict:
    from torch.utils.data import DataLoader, Subset
    from torchvision import transforms
    from torchvision.datasets import MNIST
    from torchvision.utils import make_grid, save_image

    from diffdash.models.cnn import CNN

    torch.manual_seed(0)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (1.0))])
    dataset = MNIST(str(root), train=True, download=False, transform=tf)
    if limit:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=workers, drop_last=True)
    ddpm = StarterDDPM(CNN(n_hidden))
    optim = torch.optim.Adam(ddpm.parameters(), lr=2e-4)
    ddpm.train()
    t0 = time.perf_counter()
    images = 0
    for x, _ in loader:
        optim.zero_grad()
        loss = ddpm(x)
        loss.backward()
        optim.step()
        images += len(x)
    train_s = time.perf_counter() - t0
    ddpm.eval()
    with torch.no_grad():
        xh = ddpm.sample(16, (1, 28, 28), "cpu")
        save_image(make_grid(xh, nrow=4), out / "starter_grid.png")
    epoch_s = time.perf_counter() - t0
    return {"images_per_s": images / train_s, "epoch_s": epoch_s, "grid_s": epoch_s - train_s}


def run_engine(src: Path | None, n_hidden, limit: int | None, precision: str, out: Path) -> dict:
    from diffdash.config import RunConfig
    from diffdash.data import load_bundled, load_mnist
    from diffdash.engine import Engine
    from diffdash.store import RunDir

    data = load_mnist("mnist", src, download=False) if src else load_bundled()
    config = RunConfig(
        n_hidden=list(n_hidden),
        epochs=1,
        dataset="mnist" if src else "mnist-small",
        train_limit=limit,
        device="cpu",
        precision=precision,
    ).validate()
    events: dict[str, dict] = {}
    run = RunDir.create(out, f"engine-{precision}")
    Engine(
        run, config, data=data, listeners=[lambda e: events.setdefault(e["event"], {**e, "at": time.perf_counter()})]
    ).run()
    ep, sample = events["epoch"], events["sample"]
    return {
        "images_per_s": ep["images_per_s"],
        "epoch_s": sample["at"] - events["start"]["at"],
        "grid_s": sample["at"] - ep["at"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None, help="official idx files (default: bundled subset)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training digits")
    ap.add_argument("--n-hidden", default="16,32,32,16")
    ap.add_argument("--workers", type=int, default=0, help="starter DataLoader workers (the notebook's value)")
    args = ap.parse_args()
    from diffdash.data import BUNDLED_DIR

    n_hidden = [int(v) for v in args.n_hidden.split(",")]
    src = args.data_dir or BUNDLED_DIR
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = starter_folder(src, tmp / "starter-data")
        print(
            f"model n_hidden={n_hidden}, batch 128, data {src}, limit {args.limit}, torch threads "
            f"{torch.get_num_threads()}"
        )
        rows = {
            "starter (DataLoader, fp32, 1000-step grid)": run_starter(root, n_hidden, args.limit, args.workers, tmp)
        }
        for precision in ("fp32", "bf16"):
            rows[f"diffdash engine {precision} (val + DDIM-50 grid)"] = run_engine(
                args.data_dir, n_hidden, args.limit, precision, tmp
            )
    base = next(iter(rows.values()))
    print(f"{'':48} {'img/s':>8} {'ratio':>6} {'epoch+grid s':>13} {'grid s':>7} {'speed-up':>8}")
    for name, r in rows.items():
        print(
            f"{name:48} {r['images_per_s']:8.0f} {r['images_per_s'] / base['images_per_s']:6.2f} "
            f"{r['epoch_s']:13.1f} {r['grid_s']:7.1f} {base['epoch_s'] / r['epoch_s']:8.2f}"
        )


if __name__ == "__main__":
    main()
