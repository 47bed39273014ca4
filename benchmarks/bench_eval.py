"""How long `diffdash eval` takes: n samples (DDIM, 50 steps by default) drawn and scored, on this machine.

Also measures what the default `--eval-every` sample count assumes: that a training step costs about
TRAIN_COST_PER_IMAGE network passes per image. Prints the measured ratio beside the assumed one.

    .venv/bin/python benchmarks/bench_eval.py                      # a fresh 16,32,32,16 CNN, n=1000
    .venv/bin/python benchmarks/bench_eval.py --run runs/my-run    # a trained run's last checkpoint
    .venv/bin/python benchmarks/bench_eval.py -n 200 --steps 20    # quicker
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from diffdash.diffusion import build_process
from diffdash.diffusion.samplers import sampler_class
from diffdash.metrics.classifier import get_classifier
from diffdash.metrics.evaluate import TRAIN_COST_PER_IMAGE, generate, score
from diffdash.metrics.fid import FID_LABEL
from diffdash.mnist.load import load_mnist, to_tensor
from diffdash.models import build_network
from diffdash.options.run_config import RunConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--n-hidden", default="16,32,32,16")
    ap.add_argument("--run", type=Path, default=None, help="a run folder: use its config and last checkpoint")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "mnist"))
    ap.add_argument("--train-steps", type=int, default=10, help="training steps timed for the cost ratio")
    args = ap.parse_args()

    if args.run:
        from diffdash.metrics.run_eval import load_weights
        from diffdash.store import RunDir

        run = RunDir(args.run)
        config = RunConfig.from_dict(run.read_config())
        net, weights, ck = load_weights(config, run.last_checkpoint, None, "cpu")
        what = f"{run.id} epoch {ck.get('epoch')} ({weights} weights)"
    else:
        config = RunConfig(n_hidden=[int(v) for v in args.n_hidden.split(",")], device="cpu").validate()
        net, what = build_network(config), f"fresh CNN {config.n_hidden}"
    process = build_process(config, "cpu")
    data = load_mnist(args.dataset, args.data_dir, download=False, say=print)
    clf = get_classifier(data, None, say=print)
    print(
        f"{what}; classifier on {data.describe()}, test accuracy {clf.test_accuracy:.2%}; torch threads "
        f"{torch.get_num_threads()}"
    )

    t0 = time.perf_counter()
    x = generate(process, net, args.n, sampler="ddim", steps=args.steps, seed=0)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    q = score(clf, x)
    t_score = time.perf_counter() - t0
    passes = args.n * len(sampler_class("ddpm", "ddim")(process, args.steps, 0).timesteps)
    print(
        f"evaluate {args.n} samples, DDIM {args.steps} steps: {t_sample + t_score:.1f} s "
        f"(sampling {t_sample:.1f} s = {passes / t_sample:.0f} image-passes/s; scoring {t_score:.2f} s)"
    )
    print(f"{FID_LABEL} {q.fid:.2f}  confidence {q.confidence:.3f}  digits {q.histogram}")

    # training cost per image, in sampling passes: what auto --eval-n assumes
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    xb = to_tensor(data.train_images[: config.batch_size])
    t0 = time.perf_counter()
    for _ in range(args.train_steps):
        loss = process.loss(net, xb, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    t_train = (time.perf_counter() - t0) / (args.train_steps * len(xb))
    ratio = t_train / (t_sample / passes)
    print(
        f"training: {1 / t_train:.0f} images/s = {ratio:.2f} sampling passes per image "
        f"(auto --eval-n assumes {TRAIN_COST_PER_IMAGE:g})"
    )
    print(
        f"eval of {args.n} samples costs as much as training on {(t_sample + t_score) / t_train:,.0f} images "
        f"({(t_sample + t_score) / (t_train * 60000):.2f} full-MNIST epochs)"
    )


if __name__ == "__main__":
    main()
