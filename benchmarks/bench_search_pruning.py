"""What pruning saves: the same search (TPE over lr, log 1e-4..3e-3, x n_hidden choices, on the bundled subset)
run twice with `diffdash study run`, once with a pruner (`--pruner median|halving`) and once without; prints
each one's wall time, the ratio, the trials pruned, and the best trial each found (its setting and validation loss).

    python benchmarks/bench_search_pruning.py [--trials 16] [--epochs 6] [--parallel 2] [--train-limit 256]
    python benchmarks/bench_search_pruning.py --smoke    # 4 trials x 2 epochs of 128 digits: the plumbing, ~3 min

The issue's target: the pruned search in at most 60 % of the unpruned one's time, finding the same best setting
(or one within the seed spread: `--seeds 3`). The last lines say whether each holds.

Both searches use the same sampler seed, so their first trials are the same; they part once TPE sees pruned
trials. `--seeds N` then trains each search's best setting N times (seeds 0..N-1) to tell whether the two bests
differ by more than the spread between seeds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """
[study]
name = "{name}"
[defaults]
dataset = "mnist-small"
epochs = {epochs}
batch_size = 64
train_limit = {train_limit}
val_limit = 128
n_T = 200
sample_steps = 5
sample_every = "{epochs}"
threads = {threads}
[search]
sampler = "tpe"
trials = {trials}
pruner = "{pruner}"
startup_trials = {startup}
warmup_epochs = 1
[search.params]
lr = {{ low = 1e-4, high = 3e-3, log = true }}
n_hidden = [[16, 32, 32, 16], [16, 32, 64, 32, 16]]
"""
SEEDED = """
[study]
name = "{name}"
[defaults]
dataset = "mnist-small"
epochs = {epochs}
batch_size = 64
train_limit = {train_limit}
val_limit = 128
n_T = 200
sample_steps = 5
sample_every = "{epochs}"
threads = {threads}
seeds = {seeds}
[runs.best]
lr = {lr}
n_hidden = {n_hidden}
"""


def run_study(text: str, folder: Path, name: str, parallel: int, env: dict) -> float:
    path = folder / f"{name}.toml"
    path.write_text(text)
    argv = [sys.executable, "-m", "diffdash", "study", "run", str(path), "--runs-dir", str(folder / "runs")]
    t0 = time.perf_counter()
    done = subprocess.run([*argv, "--parallel", str(parallel), "--headless"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:  # a failed trial is counted below; a search that could not run stops here
        print(f"{name}: exit {done.returncode}: {(done.stdout + done.stderr).strip().splitlines()[-1]}")
    return seconds


def cpu_line() -> str:
    name = "unknown CPU"
    info = Path("/proc/cpuinfo")
    for line in info.read_text().splitlines() if info.exists() else []:
        if line.startswith("model name"):
            name = line.split(":", 1)[1].strip()
            break
    return f"{name}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pruner", choices=("median", "halving"), default="median", help="the pruned search's pruner")
    ap.add_argument("--seeds", type=int, default=0, help="retrain each best setting with this many seeds")
    ap.add_argument("--smoke", action="store_true", help="4 trials x 2 epochs of 128 digits, one at a time")
    args = ap.parse_args()
    if args.smoke:
        args.trials, args.epochs, args.train_limit, args.parallel = 4, 2, 128, 1
    from diffdash.study import load_study
    from diffdash.study.search_trials import read_trials
    from diffdash.study.warm_start import warm_start_wanted

    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    env = {**os.environ, "DIFFDASH_RUNS": str(folder / "runs")}
    common = dict(epochs=args.epochs, train_limit=args.train_limit, threads=args.threads, trials=args.trials)
    startup = min(4, max(1, args.trials // 2))  # trials finished before the median pruner prunes
    warm = warm_start_wanted()  # the runner's own reading of DIFFDASH_WARM_START
    print(f"{args.trials} trials x {args.epochs} epochs of {args.train_limit} digits, {args.parallel} at a time, "
          f"{args.threads} thread(s) each; pruner {args.pruner}; trials start {'warm (forked)' if warm else 'cold'}; "
          f"{cpu_line()}; folder {folder}")  # fmt: skip
    results = {}
    for name, pruner in (("pruned", args.pruner), ("unpruned", "none")):
        text = STUDY.format(name=name, pruner=pruner, startup=startup, **common)
        seconds = run_study(text, folder, name, args.parallel, env)
        trials = read_trials(load_study(folder / f"{name}.toml"), folder / "runs")
        complete = sorted((t for t in trials if t.state == "complete"), key=lambda t: t.value)
        pruned = [t for t in trials if t.state == "pruned"]
        failed = [t for t in trials if t.state == "fail"]
        if not complete:
            sys.exit(f"{name}: no trial finished")
        epochs = sum(len(t.values) for t in trials)
        best = complete[0]
        results[name] = (seconds, best, epochs)
        print(f"{name:9s} {seconds:7.1f} s  {len(pruned):2d} pruned  {len(failed)} failed  {epochs:3d} epochs trained  "
              f"best {best.member.name} val {best.value:.5f}  lr {best.params['lr']:.3g}  "
              f"n_hidden {best.params['n_hidden']}")  # fmt: skip
    ratio = results["pruned"][0] / results["unpruned"][0]
    a, b = results["pruned"][1], results["unpruned"][1]
    same = a.params["n_hidden"] == b.params["n_hidden"]
    print(f"time ratio pruned/unpruned: {ratio:.2f} (target <= 0.60: {'met' if ratio <= 0.60 else 'NOT met'}); "
          f"epochs trained ratio {results['pruned'][2] / results['unpruned'][2]:.2f} (each trial also pays its start, "
          "which pruning does not save)")  # fmt: skip
    print(f"best setting: pruned lr {a.params['lr']:.3g} n_hidden {a.params['n_hidden']} val {a.value:.5f}; "
          f"unpruned lr {b.params['lr']:.3g} n_hidden {b.params['n_hidden']} val {b.value:.5f}")  # fmt: skip
    print(
        f"same n_hidden: {same}; lr ratio {a.params['lr'] / b.params['lr']:.2f}"
        + ("" if args.seeds else "; --seeds 3 tells whether the two bests differ beyond the seed spread")
    )
    if args.seeds:
        spreads = {}
        for name, (_, best, _) in results.items():
            text = SEEDED.format(name=f"{name}-seeds", seeds=args.seeds, lr=best.params["lr"],
                                 n_hidden=best.params["n_hidden"], **common)  # fmt: skip
            run_study(text, folder, f"{name}-seeds", args.parallel, env)
            study = load_study(folder / f"{name}-seeds.toml")
            vals = [_final_val(folder / "runs" / m.run_id) for m in study.members]
            spreads[name] = (statistics.fmean(vals), statistics.stdev(vals))
            print(f"{name} best setting over {args.seeds} seeds: val {spreads[name][0]:.5f} ± {spreads[name][1]:.5f}")
        diff = abs(spreads["pruned"][0] - spreads["unpruned"][0])
        spread = spreads["pruned"][1] + spreads["unpruned"][1]
        print(f"difference {diff:.5f} {'exceeds' if diff > spread else 'is within'} the seed spread {spread:.5f}")


def _final_val(run: Path) -> float:
    from diffdash.runs.history import read_history
    from diffdash.store import RunDir

    return [v for v in read_history(RunDir(run)).val_loss if v is not None][-1]


if __name__ == "__main__":
    main()
