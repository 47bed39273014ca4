"""Measure cold-diffusion generation settings on a trained cold run: which prior level t*, which
sampler, how much noise per step. Prints, per setting, the diversity of the samples against real
digits and how digit-like they are, so the generation defaults are chosen by measurement.

    python benchmarks/bench_cold_generation.py RUN_DIR [--n 256] [--prior-t 1,2,3,5] [--noise 0,0.02]

Figures (pixels on a 0..1 scale):
  div      mean pairwise L2 distance between samples (real digits give the reference `real`)
  min      smallest pairwise distance (near-duplicates show up here)
  nn       mean L2 distance from each sample to its nearest training digit (real test digits: reference)
  fid      Fréchet distance in the cached MNIST classifier's feature space, if cached
  H, conf  entropy of the classifier's digit histogram (log2 10 = 3.32 bits: all digits equally), mean confidence
  classes  how many of the ten digits the classifier finds among the samples; min class: the rarest one's count
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from diffdash.mnist.load import load_mnist, run_tensors, to_tensor
from diffdash.runs.trained_network import load_trained
from diffdash.store import RunDir


def pair_stats(x: torch.Tensor) -> tuple[float, float]:
    flat = (x.float().clamp(-0.5, 0.5) + 0.5).flatten(1)
    d = torch.cdist(flat, flat)
    off = d[~torch.eye(len(x), dtype=torch.bool)]
    return float(off.mean()), float(off.min())


def nn_distance(x: torch.Tensor, train: torch.Tensor) -> float:
    a = (x.float().clamp(-0.5, 0.5) + 0.5).flatten(1)
    b = (train + 0.5).flatten(1)
    return float(torch.cat([torch.cdist(part, b).min(dim=1).values for part in a.split(256)]).mean())


def classifier_or_none():
    try:
        from diffdash.metrics.classifier import cache_path, load_classifier

        return load_classifier(cache_path("mnist"))
    except Exception:  # noqa: BLE001 - the classifier is optional here
        return None


def judge(x: torch.Tensor, train: torch.Tensor, clf) -> str:
    div, mn = pair_stats(x)
    parts = [f"div {div:5.2f}", f"min {mn:5.2f}", f"nn {nn_distance(x, train):5.2f}"]
    if clf is not None:
        from diffdash.metrics.evaluate import score
        from diffdash.metrics.histogram import histogram_entropy

        q = score(clf, x)
        classes = sum(c > 0 for c in q.histogram)
        parts += [f"fid {q.fid:7.2f}", f"H {histogram_entropy(q.histogram):.2f} bits", f"conf {q.confidence:.3f}"]
        parts += [f"classes {classes:2d}", f"min class {min(q.histogram)}"]
    return "  ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--prior-t", default="1,2,3,5")
    ap.add_argument("--noise", default="0,0.02")
    ap.add_argument("--samplers", default="alg2,direct")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    run = RunDir(args.run)
    net, process, config = load_trained(run)
    data = load_mnist(config.dataset, config.data_dir, download=False)
    process.attach_data(*run_tensors(data, config.train_limit, config.val_limit))
    g = torch.Generator().manual_seed(0)
    train = to_tensor(data.train_images)[torch.randperm(len(data.train_images), generator=g)[:10_000]]
    test = to_tensor(data.test_images)[torch.randperm(len(data.test_images), generator=g)[: args.n]]
    clf = classifier_or_none()
    print(f"run {run.id}: {process.degradation.describe()}, n_T {config.n_T}, n {args.n}")
    print(f"{'real test digits':34s}  {judge(test, train, clf)}")
    for prior_t in [int(v) for v in args.prior_t.split(",")]:
        process.prior_t, process._prior = prior_t, None
        for noise in [float(v) for v in args.noise.split(",")]:
            process.gen_noise = noise
            for sampler in args.samplers.split(","):
                t0 = time.perf_counter()
                x = process.sample(net, args.n, sampler=sampler, seed=args.seed)
                label = f"t*={prior_t:<3d} noise={noise:<5g} {sampler}"
                print(f"{label:34s}  {judge(x, train, clf)}  ({time.perf_counter() - t0:.1f} s)", flush=True)
    x = process.sample(net, args.n, sampler="alg2", seed=args.seed, start="reconstruct")
    print(f"{'reconstruct from t=n_T (alg2)':34s}  {judge(x, train, clf)}")


if __name__ == "__main__":
    main()
