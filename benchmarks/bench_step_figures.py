"""What logging the gradient norm costs a training step: the loop's step with and without `total_grad_norm`.

Both variants are the training loop's step as it runs (the default network and process on the bundled subset:
the process's loss under autocast, backward, the optimiser step, the EMA update), on one network and optimiser,
interleaved in rounds so that a busy machine slows both alike. The norm stays on the device in the loop (read
with the losses, in the same sync); here it is left unread too. Prints the median seconds per step of each and
their ratio, and the norm's own time (with its read-back) as a share of a step.

    python benchmarks/bench_step_figures.py                      # CPU, 30 rounds of 10 steps each
    python benchmarks/bench_step_figures.py --device cuda --rounds 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from diffdash.machine.devices import autocast
from diffdash.options.run_config import RunConfig
from diffdash.training.session import open_session
from diffdash.training.state import TrainingState
from diffdash.training.step_figures import current_lr, total_grad_norm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=10, help="steps per round and variant")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    args = parser.parse_args()

    config = RunConfig(dataset="mnist-small", device=args.device, batch_size=args.batch_size, threads=args.threads)
    config = config.validate()
    session = open_session(config, None, print, lambda *_a, **_k: None)
    state = TrainingState.create(config, session.device)
    x_all, bs = session.train_x, config.batch_size

    def steps(n: int, with_norm: bool) -> float:
        started = time.perf_counter()
        for i in range(n):
            x = x_all[(i * bs) % (len(x_all) - bs) :][:bs]
            with autocast(session.device, session.precision):
                loss = session.process.loss(state.net, x, state.gen)
            state.opt.zero_grad(set_to_none=True)
            loss.backward()
            if with_norm:
                total_grad_norm(state.net), current_lr(state.opt)
            state.opt.step()
            if state.ema is not None:
                state.ema.update(state.net)
        loss.item()  # wait for the device
        if session.device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - started) / n

    steps(3, True)  # warm-up
    plain, normed = [], []
    for _ in range(args.rounds):
        plain.append(steps(args.steps, False))
        normed.append(steps(args.steps, True))
    a, b = statistics.median(plain), statistics.median(normed)
    alone = []  # the norm by itself, on the last step's gradients: the figure a noisy machine blurs least
    for _ in range(100):
        started = time.perf_counter()
        total_grad_norm(state.net).item()
        alone.append(time.perf_counter() - started)
    c = statistics.median(alone)
    params = sum(p.numel() for p in state.net.parameters())
    print(
        f"device {session.device} ({session.precision}), batch {bs}, {params:,} parameters, threads {session.threads}"
    )
    print(f"step without the norm  {a * 1e3:8.2f} ms (median of {args.rounds} rounds of {args.steps})")
    print(f"step with the norm     {b * 1e3:8.2f} ms")
    print(f"ratio with / without   {b / a:8.3f}")
    print(f"the norm alone         {c * 1e3:8.3f} ms (median of 100, read back) = {c / a:.3%} of a step")


if __name__ == "__main__":
    main()
