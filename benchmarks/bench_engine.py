"""One epoch of the coursework starter's loop against diffdash's engine, side by side in one process.

(a) starter: the notebook's loop as it runs: torchvision MNIST with per-sample ToTensor/Normalize through a
    DataLoader, the starter's CNN and DDPM (copied below, so diffdash's own changes cannot speed it up),
    `loss.item()` every step, the test loss over the test split, and a 16-sample grid from the 1000-step
    ancestral sampler under `torch.no_grad()`.
(b) diffdash `new --epochs 1` with default options (validation, DDIM-50 previews), in fp32;
(c) the same at the default precision (`auto`: bf16 where the CPU has AVX512-BF16 or AMX, else fp32).

All three get the same torch threads. Full MNIST when it is at hand (--data-dir, default ../shared/mnist
from the repository root), else the bundled 10,000-digit subset, and the table says which.

    python benchmarks/bench_engine.py                        # full MNIST, one full epoch each (minutes)
    python benchmarks/bench_engine.py --limit 6400           # a quick look: NOT an epoch, not for reporting
"""

from __future__ import annotations

import argparse
import gzip
import math
import shutil
import tempfile
import time
from pathlib import Path

import roofline  # benchmarks/ is on the path when this script runs
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "mnist"
IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def starter_folder(src: Path, dst: Path) -> Path:
    """torchvision's MNIST wants unzipped files in <root>/MNIST/raw."""
    raw = dst / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in IDX:
        gz = src / f"{stem}.gz"
        if gz.is_file():
            with gzip.open(gz) as fin, open(raw / stem, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copy(src / stem, raw / stem)
    return dst


class StarterBlock(nn.Module):
    def __init__(self, in_ch, out_ch, expected_shape, act=nn.GELU, kernel_size=7):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2),
            nn.LayerNorm((out_ch, *expected_shape)),
            act(),
        )

    def forward(self, x):
        return self.net(x)


class StarterCNN(nn.Module):
    """The notebook's CNN: 7x7 blocks with LayerNorm over (C, 28, 28) and GELU, time embedding after block 0."""

    def __init__(self, in_channels=1, expected_shape=(28, 28), n_hidden=(64, 128, 64), act=nn.GELU):
        super().__init__()
        last = in_channels
        self.blocks = nn.ModuleList()
        for hidden in n_hidden:
            self.blocks.append(StarterBlock(last, hidden, expected_shape=expected_shape, act=act))
            last = hidden
        self.blocks.append(nn.Conv2d(last, in_channels, 3, padding=1))
        self.time_embed = nn.Sequential(
            nn.Linear(32, 128),
            act(),
            nn.Linear(128, 128),
            act(),
            nn.Linear(128, 128),
            act(),
            nn.Linear(128, n_hidden[0]),
        )
        self.frequencies = torch.tensor([0] + [2 * math.pi * 1.5**i for i in range(15)])

    def time_encoding(self, t):
        phases = torch.concat(
            (torch.sin(t[:, None] * self.frequencies[None, :]), torch.cos(t[:, None] * self.frequencies[None, :]) - 1),
            dim=1,
        )
        return self.time_embed(phases)[:, :, None, None]

    def forward(self, x, t):
        embed = self.blocks[0](x) + self.time_encoding(t)
        for block in self.blocks[1:]:
            embed = block(embed)
        return embed


class StarterDDPM(nn.Module):
    """The notebook's DDPM module (noise prediction, ancestral sampler)."""

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


def run_starter(
    root: Path, n_hidden, limit: int | None, val_limit: int | None, workers: int, out: Path, device: str = "cpu"
) -> dict:
    """The starter notebook's epoch as it runs it; on a GPU with the notebook's `.to(device)` moves."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import transforms
    from torchvision.datasets import MNIST
    from torchvision.utils import make_grid, save_image

    torch.manual_seed(0)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (1.0))])
    train = MNIST(str(root), train=True, download=False, transform=tf)
    if limit:
        train = Subset(train, range(min(limit, len(train))))
    test = MNIST(str(root), train=False, download=False, transform=tf)
    if val_limit:
        test = Subset(test, range(min(val_limit, len(test))))
    loader = DataLoader(train, batch_size=128, shuffle=True, num_workers=workers, drop_last=True)
    test_loader = DataLoader(test, batch_size=128, shuffle=False, num_workers=workers)
    net = StarterCNN(n_hidden=n_hidden)
    net.frequencies = net.frequencies.to(device)  # a plain attribute in the notebook: .to() would not move it
    ddpm = StarterDDPM(net).to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    optim = torch.optim.Adam(ddpm.parameters(), lr=2e-4)
    t0 = time.perf_counter()
    ddpm.train()
    images, losses = 0, []
    for x, _ in loader:
        x = x.to(device)
        optim.zero_grad()
        loss = ddpm(x)
        loss.backward()
        losses.append(loss.item())
        optim.step()
        images += len(x)
    sync()
    t1 = time.perf_counter()
    ddpm.eval()
    with torch.no_grad():
        test_losses = [ddpm(x.to(device)).item() for x, _ in test_loader]
    t2 = time.perf_counter()
    with torch.no_grad():
        xh = ddpm.sample(16, (1, 28, 28), device)
        save_image(make_grid(xh.cpu(), nrow=4), out / "starter_grid.png")
    t3 = time.perf_counter()
    assert all(math.isfinite(v) for v in losses + test_losses)
    return {"train": t1 - t0, "val": t2 - t1, "grid": t3 - t2, "total": t3 - t0, "images": images, "notes": ""}


def run_engine(data, n_hidden, limits: tuple, precision: str, threads: int, out: Path) -> dict:
    from diffdash.options.run_config import RunConfig
    from diffdash.store import RunDir
    from diffdash.training import Engine

    config = RunConfig(
        n_hidden=list(n_hidden),
        epochs=1,
        dataset=data.info["name"],
        train_limit=limits[0],
        val_limit=limits[1],
        precision=precision,
        threads=threads,
    ).validate()
    events: list[dict] = []
    run = RunDir.create(out, f"engine-{precision}")
    engine = Engine(run, config, data=data, listeners=[lambda e: events.append({**e, "at": time.perf_counter()})])
    t0 = time.perf_counter()
    state = engine.run()
    total = time.perf_counter() - t0
    assert state == "finished", state
    ep = next(e for e in events if e["event"] == "epoch")
    grids = [e["seconds"] for e in events if e["event"] == "sample"]
    cfg = run.read_config()
    return {
        "train": ep["seconds"],
        "val": ep["val_seconds"],
        "grid": sum(grids),
        "total": total,
        "images": engine.state.images,
        "notes": f"{len(grids)} DDIM-50 grid(s)",
        "precision": f"{precision} -> {cfg['resolved_precision']} ({cfg['precision_reason']})",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None, help=f"official idx files (default {SHARED_MNIST})")
    ap.add_argument("--limit", type=int, default=None, help="only the first N training digits (a quick look)")
    ap.add_argument("--val-limit", type=int, default=None, help="only the first N test digits (a quick look)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for every loop (default: all cores)")
    ap.add_argument("--n-hidden", default="16,32,32,16")
    ap.add_argument("--workers", type=int, default=0, help="starter DataLoader workers")
    ap.add_argument("--skip-starter", action="store_true", help="engine rows only (no ratios)")
    args = ap.parse_args()
    from diffdash.machine.devices import apply_threads, describe_cpu
    from diffdash.mnist.load import BUNDLED_DIR, load_bundled, load_mnist

    threads = apply_threads(args.threads)
    n_hidden = [int(v) for v in args.n_hidden.split(",")]
    src = args.data_dir or (SHARED_MNIST if (SHARED_MNIST / f"{IDX[0]}.gz").is_file() else None)
    if src is None:
        print(
            "full MNIST not found (pass --data-dir): the bundled 10,000-digit subset, so the figures are NOT full MNIST"
        )
    data = load_mnist("mnist", src, download=False) if src else load_bundled()
    n_train = min(args.limit or len(data.train_images), len(data.train_images))
    print(f"CPU: {describe_cpu()}; torch {torch.__version__}, {threads} threads for every loop")
    print(
        f"data: {data.info['name']} from {src or BUNDLED_DIR}, "
        f"{n_train:,} training digits, {len(data.test_images):,} test"
    )
    if args.limit or args.val_limit:
        print("quick look (--limit/--val-limit): not a full epoch; do not report these figures")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_starter:
            root = starter_folder(src or BUNDLED_DIR, tmp / "starter-data")
            rows["starter notebook loop"] = run_starter(root, n_hidden, args.limit, args.val_limit, args.workers, tmp)
            rows["starter notebook loop"]["precision"] = "fp32"
            rows["starter notebook loop"]["notes"] = "1000-step ancestral grid"
        for precision in ("fp32", "auto"):
            rows[f"diffdash --precision {precision}"] = run_engine(
                data, n_hidden, (args.limit, args.val_limit), precision, threads, tmp
            )
    base = rows.get("starter notebook loop")
    print(f"\n{'':28} {'train':>8} {'img/s':>6} {'valid.':>7} {'grid':>7} {'epoch':>8} {'ratio':>6}  precision / notes")
    for name, r in rows.items():
        ratio = f"{base['total'] / r['total']:6.2f}" if base else "     -"
        print(
            f"{name:28} {r['train']:7.1f}s {r['images'] / r['train']:6.0f} {r['val']:6.1f}s {r['grid']:6.1f}s "
            f"{r['total']:7.1f}s {ratio}  {r['precision']}; {r['notes']}"
        )
    print(
        f"ratio = starter epoch total / this row's (train + validation + grid), "
        f"{threads} threads; CPU: {describe_cpu()}"
    )
    for line in roofline.report(rows, n_hidden):
        print(line)


if __name__ == "__main__":
    main()
