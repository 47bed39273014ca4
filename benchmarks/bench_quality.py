"""Which network reaches good digits sooner: each trained on full MNIST for the same training time, then scored.

    python benchmarks/bench_quality.py                          # budgets 10m,30m,60m, n=1000 (hours)
    python benchmarks/bench_quality.py --budgets 1m --n 200     # a smoke run (about 5 minutes)
    python benchmarks/bench_quality.py --budgets 10m --threads 1 --out /tmp/bq
    python benchmarks/bench_quality.py --networks 'unet 16,32,64' --train-args '--ema 0.999 --eval-every 1'

Per network (the coursework CNN, the default U-Net, a wider U-Net) one real run is trained with `diffdash new --max-
time BUDGET --headless` to the first budget and extended to each next one by `diffdash resume --max-time` (training
seconds, as every view counts them: previews and validation are left out); at each budget its last checkpoint (EMA
weights when kept) is scored: FID (MNIST classifier) of n samples with the run's own preview sampler and with dpm++2m
20 steps, digits covered (classes the classifier assigns at least 1 % of the samples to), mean confidence; beside the
FID of n real training digits against the test split at the same n (the floor `diffdash eval` prints). FLOPs per
image are torch's own counter over a training step's forward and backward. A grid of the first 64 samples of each
scoring is written beside the runs (<out>/grids/; the runs in <out>/runs/) to look at. Prints the CPU it ran on and
its load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from diffdash.compare.quality_curve import digits_covered
from diffdash.diffusion import build_process
from diffdash.metrics.classifier import get_classifier
from diffdash.metrics.evaluate import generate, real_reference_fid, score
from diffdash.metrics.in_training import sampling_passes
from diffdash.metrics.run_eval import load_weights
from diffdash.mnist.grids import save_grid
from diffdash.mnist.load import load_mnist
from diffdash.models import build_network
from diffdash.options.run_config import RunConfig
from diffdash.runs.time_spent import time_spent
from diffdash.store import RunDir

NETWORKS = {
    "cnn 16,32,32,16": ["--net", "cnn"],
    "unet 16,32,64": ["--net", "unet"],
    "unet 32,64,128": ["--net", "unet", "--unet-channels", "32,64,128"],
}
FAST_SAMPLER = ("dpm++2m", 20)


def cpu_line() -> str:
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{name}, {os.cpu_count()} cores, load average {load}"


def flops_per_image(config: RunConfig, batch: int = 32) -> float:
    net = build_network(config)
    x, t = torch.randn(batch, 1, 28, 28), torch.rand(batch)
    with FlopCounterMode(display=False) as counter:
        net(x, t).float().pow(2).mean().backward()
    return counter.get_total_flops() / batch


def train(name: str, net_args: list[str], budget: str, args: argparse.Namespace) -> RunDir:
    """Train `name` until its training time reaches `budget`: a new run the first time, else `resume --max-time`
    extends the same run (so budgets 10m,30m,60m cost 60 minutes, not 100; the lr is constant, so the run at 30m
    is the one a fresh 30m run would be, up to where its epochs end)."""
    run_dir = args.runs_dir / name
    common = ["--max-time", budget, "--headless", "--runs-dir", str(args.runs_dir), "--progress-every", "120"]
    if (run_dir / "config.json").exists():
        cmd = [sys.executable, "-m", "diffdash", "resume", name, *common]
    else:
        cmd = [
            sys.executable, "-m", "diffdash", "new", "--dataset", "mnist", "--data-dir", args.data_dir, *net_args,
            "--epochs", "1000", "--threads", str(args.threads), "--name", name, *common, *args.train_args.split(),
        ]  # fmt: skip
    print(f"  training {name} to {budget}: {' '.join(cmd[3:])}", flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL if args.quiet else None)
    return RunDir(run_dir)


def scored(run: RunDir, clf, data, sampler: str, steps: int | None, n: int, grid: Path) -> dict:
    config = RunConfig.from_dict(run.read_config())
    net, weights, _ck = load_weights(config, run.last_checkpoint, None, "cpu")
    process = build_process(config, "cpu")
    started = time.perf_counter()
    x = generate(process, net, n, sampler=sampler, steps=steps, seed=0)
    q = score(clf, x)
    save_grid(x[:64].numpy(), grid, nrow=8, scale=2)
    return {
        "fid": q.fid,
        "covered": digits_covered(list(q.histogram)),  # classes holding >= 1 % of the samples
        "confidence": q.confidence,
        "label": f"{sampler} {sampling_passes(config, sampler, steps)}",
        "weights": weights,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budgets", default="10m,30m,60m", help="training times, comma-separated (e.g. 2m,10m)")
    p.add_argument("-n", "--n", type=int, default=1000, help="samples scored per FID")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--networks", default="; ".join(NETWORKS), help="a subset, separated by ';'")
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "mnist"))
    p.add_argument("--out", type=Path, default=None, help="folder for runs/ and grids/ [default: a new temp folder]")
    p.add_argument("--quiet", action="store_true", help="hide the runs' own progress lines")
    p.add_argument("--train-args", default="", help="more `diffdash new` options for every run, e.g. '--ema 0.999'")
    args = p.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_quality-"))
    args.runs_dir, grids = out / "runs", out / "grids"
    grids.mkdir(parents=True, exist_ok=True)
    networks = [s.strip() for s in args.networks.split(";") if s.strip()]
    if unknown := [s for s in networks if s not in NETWORKS]:
        p.error(f"unknown network(s) {unknown}: choose from {'; '.join(NETWORKS)}")
    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_line()}; {args.threads} threads; runs in {out}", flush=True)

    data = load_mnist("mnist", args.data_dir, download=False, say=print)
    clf = get_classifier(data, args.data_dir, say=print)
    real = real_reference_fid(clf, data.train_images, args.n)
    n_train = len(data.train_images)
    print(f"data {data.describe()}; classifier test accuracy {clf.test_accuracy:.2%}", flush=True)

    rows = []
    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    for label in networks:
        for budget in budgets:
            name = label.replace(" ", "-").replace(",", "_")
            run = train(name, NETWORKS[label], budget, args)
            config = RunConfig.from_dict(run.read_config())
            spent = time_spent(run.read_events()[0])
            grid = grids / f"{name}-{budget}"
            own_png, fast_png = (grid.with_name(f"{grid.name}-{kind}.png") for kind in ("own", "dpm"))
            own = scored(run, clf, data, config.sampler, config.sample_steps, args.n, own_png)
            fast = scored(run, clf, data, *FAST_SAMPLER, args.n, fast_png)
            rows.append((budget, label, flops_per_image(config), spent, spent.images / n_train, own, fast))
            print(f"  {name} at {budget}: FID {own['fid']:.1f} ({own['label']}), {fast['fid']:.1f} (dpm++2m 20)")

    print(f"\nCPU: {cpu_line()}; {args.threads} threads; default precision; full MNIST ({n_train:,} training digits)")
    print(f"FID (MNIST classifier), n={args.n}; real training digits at the same n: {real:.2f}")
    own_label = rows[0][5]["label"] if rows else ""
    print(f"{'':55s}{'own sampler (' + own_label + ')':^23s}{'dpm++2m 20 steps':^23s}")
    print(f"{'budget':>6s} {'network':16s} {'MFLOP/img':>9s} {'img/s':>6s} {'train s':>7s} {'epochs':>6s}"
          + f" {'FID':>7s} {'digits':>6s} {'conf':>5s} |" * 2 + f" {'best/real':>9s}")  # fmt: skip
    for budget, label, flops, spent, epochs, own, fast in rows:
        quality = "".join(f" {q['fid']:>7.1f} {q['covered']:>3d}/10 {q['confidence']:>5.2f} |" for q in (own, fast))
        best = min(own["fid"], fast["fid"]) / real
        print(
            f"{budget:>6s} {label:16s} {flops / 1e6:>9.0f} {spent.images_per_s or 0:>6.0f} {spent.train:>7.0f} "
            f"{epochs:>6.2f}{quality} {best:>9.1f}"
        )
    weights = {r[5]["weights"] for r in rows}
    print(f"weights scored: {', '.join(sorted(weights))}; digits: classes holding >= 1 % of the samples")
    print(f"grids: {grids}")


if __name__ == "__main__":
    main()
