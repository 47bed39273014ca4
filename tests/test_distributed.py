"""Data-parallel training pieces: world, shards, agreement, control file, launcher, and DDP exactness."""

from __future__ import annotations

import threading
import time

import pytest

from diffdash.controls import Controls
from diffdash.distributed.control_file import ControlMirror, ControlReader, ControlState, read_control, write_control
from diffdash.distributed.launch import cluster_command, torchrun_command
from diffdash.distributed.shards import shard_bounds, shard_rows, train_rows
from diffdash.distributed.world import DistributedError, World, check_request, threads_per_worker, world_from_env


def step_indices(perm, batch_size: int, batch: int, rank: int, world: int):
    """The permutation entries (digits) `rank` trains on at step `batch` of an epoch: the loop's rule."""
    chunk = perm[batch * batch_size : (batch + 1) * batch_size]
    return chunk[shard_rows(len(chunk), rank, world)]


def test_world_of_one_without_torchrun_variables():
    world = world_from_env({})
    assert world == World() and world.main and not world.distributed


def test_world_from_torchrun_variables():
    env = dict(RANK="5", LOCAL_RANK="1", WORLD_SIZE="16", LOCAL_WORLD_SIZE="8", GROUP_WORLD_SIZE="2")
    world = world_from_env({**env, "TORCHELASTIC_RESTART_COUNT": "1"})
    assert (world.rank, world.local_rank, world.size, world.nodes, world.restart) == (5, 1, 16, 2, 1)
    assert world.distributed and not world.main
    with pytest.raises(DistributedError, match="inconsistent"):
        world_from_env({**env, "RANK": "16"})


def test_requests_this_machine_cannot_serve_are_refused_with_the_fix():
    assert check_request("cpu", 2, cuda_count=0) == ("cpu", "gloo")
    assert check_request("auto", 2, cuda_count=0) == ("cpu", "gloo")
    assert check_request("auto", 2, cuda_count=2) == ("cuda", "nccl")
    assert check_request("auto", 4, cuda_count=2) == ("cpu", "gloo")  # auto takes CUDA only with a GPU per worker
    with pytest.raises(DistributedError, match="needs one GPU per worker, and this machine has 2: use --nproc 2"):
        check_request("cuda", 4, cuda_count=2)
    with pytest.raises(DistributedError, match="no CUDA GPU"):
        check_request("cuda", 2, cuda_count=0)
    with pytest.raises(DistributedError, match="nccl backend needs CUDA"):
        check_request("cpu", 2, cuda_count=0, backend="nccl")
    with pytest.raises(DistributedError, match="MPS"):
        check_request("mps", 2, cuda_count=0)


def test_threads_are_split_between_the_workers_of_a_node():
    assert threads_per_worker(None, 2, cores=2) == 1
    assert threads_per_worker(None, 4, cores=2) == 1
    assert threads_per_worker(8, 2, cores=2) == 4


@pytest.mark.parametrize("n,world", [(128, 2), (96, 2), (13, 4), (5, 2), (1, 2), (60000, 3)])
def test_shards_cover_each_batch_exactly_once(n, world):
    bounds = [shard_bounds(n, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1
    counted = [train_rows(n, r, world)[1] for r in range(world)]
    assert counted == sizes
    # DDP averages the weighted gradients over `world`: the weights must sum to `world`
    assert sum(train_rows(n, r, world)[2] for r in range(world)) == pytest.approx(world)


def test_equal_shards_leave_the_loss_unscaled():
    assert [train_rows(128, r, 2)[2] for r in range(2)] == [1.0, 1.0]


def test_epoch_shards_cover_the_permutation_exactly():
    torch = pytest.importorskip("torch")
    perm = torch.randperm(1000, generator=torch.Generator().manual_seed(3))
    for world in (1, 2, 3):
        shards = [[step_indices(perm, 128, b, r, world) for b in range(-(-len(perm) // 128))] for r in range(world)]
        assert len({len(s) for s in shards}) == 1  # every worker takes the same number of steps
        for step in range(len(shards[0])):  # step by step, the union is the 1-process batch, in order
            joined = torch.cat([shards[r][step] for r in range(world)])
            assert torch.equal(joined, perm[step * 128 : (step + 1) * 128])


def test_agreement_in_a_world_of_one_changes_nothing():
    torch = pytest.importorskip("torch")
    from diffdash.distributed.reduce import agree, global_loss, sum_over_workers

    loss = torch.tensor(0.25)
    assert global_loss(loss, 3, 3, World()) is not None and float(global_loss(loss, 3, 3, World())) == 0.25
    assert sum_over_workers(loss, World()) is loss
    assert agree([True, False], World()) == [True, False]


def test_control_file_round_trip_and_damage(tmp_path):
    assert read_control(tmp_path) == ControlState()
    write_control(tmp_path, ControlState(stop=True, sample=2))
    assert read_control(tmp_path) == ControlState(stop=True, sample=2)
    (tmp_path / "control.json").write_text('{"stop": tr')
    assert read_control(tmp_path) == ControlState()


@pytest.mark.parametrize(
    "text",
    [
        '{"stop": false, "sample": 1e999, "checkpoint": 0}',  # json reads inf; int(inf) is an OverflowError
        '{"stop": "false", "paused": "no"}',  # strings are not requests: only true stops or pauses
        '{"sample": [1], "checkpoint": {}}',
    ],
)
def test_a_damaged_control_file_is_no_request_and_no_crash(tmp_path, text):
    """Rank 0 polls the file all run long: a hand-edited or damaged value must not fail or stop the run."""
    (tmp_path / "control.json").write_text(text)
    assert read_control(tmp_path) == ControlState()
    reader, worker = ControlReader(tmp_path, every_s=0.0), Controls()
    reader.poll(worker)
    assert not (worker.stop.is_set() or worker.paused.is_set() or worker.sample_now.is_set())


def test_keys_reach_the_reader_through_the_file(tmp_path):
    """The launcher's Controls -> control.json -> rank 0's Controls: levels follow, one-shots arrive once."""
    pressed, worker = Controls(), Controls()
    mirror = ControlMirror(pressed, tmp_path).start()
    reader = ControlReader(tmp_path, every_s=0.0)
    try:

        def seen(check) -> bool:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                reader.poll(worker)
                if check():
                    return True
                time.sleep(0.02)
            return False

        pressed.sample_now.set()
        assert seen(worker.sample_now.is_set)
        assert not pressed.sample_now.is_set()  # counted and cleared, as an engine clears it
        worker.sample_now.clear()
        pressed.paused.set()
        assert seen(worker.paused.is_set)
        pressed.paused.clear()
        assert seen(lambda: not worker.paused.is_set())
        pressed.checkpoint_now.set()
        pressed.stop.set()
        assert seen(lambda: worker.stop.is_set() and worker.checkpoint_now.is_set())
        reader.poll(worker)
        assert not worker.sample_now.is_set()  # an old request is not seen twice
    finally:
        mirror.close()


def test_a_new_reader_does_not_replay_old_requests(tmp_path):
    write_control(tmp_path, ControlState(sample=3, checkpoint=1))
    reader, worker = ControlReader(tmp_path, every_s=0.0), Controls()
    reader.poll(worker)
    assert not worker.sample_now.is_set() and not worker.checkpoint_now.is_set()


def test_torchrun_command_line(tmp_path):
    cmd = torchrun_command(tmp_path, 2, max_restarts=1, resume=True, python="python")
    assert cmd[:3] == ["python", "-m", "torch.distributed.run"]
    assert "--standalone" in cmd and cmd[cmd.index("--nproc-per-node") + 1] == "2"
    assert cmd[cmd.index("--max-restarts") + 1] == "1"
    assert cmd[-4:] == ["-m", "diffdash.worker", str(tmp_path.resolve()), "--resume"]
    line = cluster_command("/shared/runs/r1", 2, 8, "HOST:29400")
    assert "--rdzv-backend c10d --rdzv-endpoint HOST:29400 -m diffdash.worker /shared/runs/r1" in line


@pytest.mark.slow
def test_two_gloo_workers_take_the_one_process_steps(tmp_path):
    """2 processes (DDP over gloo, shards of 2/2 and 1/0 rows) give the 1-process losses and weights."""
    torch = pytest.importorskip("torch")
    import torch.multiprocessing as mp
    from distributed_support import ddp_steps, free_port

    ddp_steps(0, 1, free_port(), str(tmp_path / "one.pt"))
    mp.spawn(ddp_steps, args=(2, free_port(), str(tmp_path / "two.pt")), nprocs=2, join=True)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    assert two["losses"] == pytest.approx(one["losses"], rel=1e-5)
    for name, w in one["weights"].items():  # Adam moves each weight by about lr = 1e-3 a step: within 1% of that
        assert torch.allclose(two["weights"][name], w, rtol=0, atol=1e-5), name


def test_mirror_writes_a_fresh_file_at_launch(tmp_path):
    write_control(tmp_path, ControlState(stop=True))
    mirror = ControlMirror(Controls(), tmp_path)
    assert read_control(tmp_path) == ControlState()
    mirror.close()
    assert not any(t.name == "control-mirror" for t in threading.enumerate())


# ---------------------------------------------------------------- the real CLI on torchrun, gloo, 2 CPU workers
@pytest.fixture(scope="module")
def one_process(tmp_path_factory, small_data, tiny_config):
    """The 1-process run every multi-worker run must reproduce: distributed_support.TINY, trained in this process."""
    from diffdash.store import RunDir
    from diffdash.training import Engine

    def make(epochs: int, precision: str = "fp32") -> RunDir:
        config = tiny_config(
            epochs=epochs, train_limit=1024, val_limit=256, sample_steps=3, precision=precision, sample_every="1"
        )
        run = RunDir.create(tmp_path_factory.mktemp("one"), f"one-{epochs}-{precision}")
        assert Engine(run, config, data=small_data).run() == "finished"
        return run

    return make


FP32_REL = 1e-6  # 2 workers vs 1 in fp32: not bit-exact (the shards' losses and gradients are summed in another
# order), measured at most 1.2e-7 relative, 12 of 32 step losses differing in their last bits
BF16_REL = 1e-3  # in bf16 every step loss differs: measured at most 9.2e-5 relative over 32 steps


def assert_same_training(run, reference, rel=FP32_REL):
    from distributed_support import epoch_figures, step_losses

    assert step_losses(run) == pytest.approx(step_losses(reference), rel=rel)
    got, want = epoch_figures(run), epoch_figures(reference)
    assert [e for e, *_ in got] == [e for e, *_ in want]
    assert [v for _, *pair in got for v in pair] == pytest.approx([v for _, *pair in want for v in pair], rel=rel)


@pytest.mark.slow
def test_new_on_two_workers_writes_a_valid_run_with_the_one_process_losses(tmp_path, one_process):
    import subprocess

    from distributed_support import TINY, diffdash

    from diffdash.store import RunDir

    runs = tmp_path / "runs"
    done = subprocess.run(
        diffdash("new", *TINY, "--epochs", "2", "--nproc", "2", "--name", "two", runs=runs),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = RunDir(runs / "two")
    status, config = run.read_status(), run.read_config()
    assert status["state"] == "finished" and status["step"] == 2 * 16
    assert (config["world_size"], config["backend"], config["nodes"]) == (2, "gloo", 1)
    assert run.last_checkpoint.is_file() and [n for n, _ in run.samples()] == [1, 2]
    assert "finished at epoch 2" in done.stdout
    reference = one_process(2)
    assert_same_training(run, reference)
    # each step's gradient norm is taken after DDP's all-reduce: the global batch's gradient, as in one process
    grad_norms = [[e["grad_norm"] for e in r.events() if e["event"] == "step"] for r in (run, reference)]
    assert len(grad_norms[0]) == 32 and grad_norms[0] == pytest.approx(grad_norms[1], rel=1e-4)


@pytest.mark.slow
def test_two_workers_in_bf16_stay_within_bf16_tolerance_of_one_process(tmp_path, one_process):
    import subprocess

    from distributed_support import TINY, diffdash

    from diffdash.store import RunDir

    runs = tmp_path / "runs"
    cmd = diffdash("new", *TINY, "--precision", "bf16", "--epochs", "1", "--nproc", "2", "--name", "bf", runs=runs)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert RunDir(runs / "bf").read_config()["precision"] == "bf16"
    assert_same_training(RunDir(runs / "bf"), one_process(1, "bf16"), rel=BF16_REL)


@pytest.mark.slow
def test_a_killed_worker_restarts_the_group_and_ends_as_if_uninterrupted(tmp_path, one_process):
    """SIGKILL rank 0 (the writer) mid-epoch: torchrun restarts both from the last checkpoint (exact resume)."""
    import os
    import signal
    import subprocess

    from distributed_support import TINY, diffdash, in_epoch, wait_until

    from diffdash.store import RunDir

    runs = tmp_path / "runs"
    cmd = diffdash("new", *TINY, "--epochs", "3", "--nproc", "2", "--max-restarts", "1", "--name", "k", runs=runs)
    launcher = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = RunDir(runs / "k")
    try:
        assert wait_until(lambda: in_epoch(run, 2)), "training never reached epoch 2"
        victim = run.read_status()["pid"]
        os.kill(victim, signal.SIGKILL)
        assert launcher.wait(timeout=300) == 0
    finally:
        launcher.kill()
    assert run.read_status()["state"] == "finished"
    assert run.read_status()["pid"] != victim
    assert any(e["event"] == "resumed" for e in run.read_events()[0])
    assert_same_training(run, one_process(3))


@pytest.mark.slow
def test_a_killed_launcher_leaves_a_crashed_run_that_resumes_on_two_then_one_worker(tmp_path, one_process):
    import os
    import signal
    import subprocess

    from distributed_support import TINY, diffdash, gone, in_epoch, wait_until

    from diffdash.store import RunDir

    runs = tmp_path / "runs"
    run = RunDir(runs / "c")

    def kill_launcher_in(epoch: int, cmd: list[str]) -> None:
        launcher = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_until(lambda: in_epoch(run, epoch)), f"training never reached epoch {epoch}"
            writer = run.read_status()["pid"]
            os.kill(launcher.pid, signal.SIGKILL)
            launcher.wait()
            assert wait_until(lambda: gone(writer), timeout=10), "a worker outlived its launcher"
        finally:
            launcher.kill()
        # a worker is listed as crashed once it is reaped (init reaps the orphans, a moment after they exit)
        assert wait_until(lambda: run.read_status()["state"] == "crashed", timeout=10)

    kill_launcher_in(2, diffdash("new", *TINY, "--epochs", "4", "--nproc", "2", "--name", "c", runs=runs))
    kill_launcher_in(3, diffdash("resume", "c", "--nproc", "2", "--headless", runs=runs))
    done = subprocess.run(diffdash("resume", "c", "--headless", runs=runs), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert run.read_status()["state"] == "finished"
    assert_same_training(run, one_process(4))


@pytest.mark.slow
async def test_the_dashboard_stop_key_stops_every_worker_within_5s(tmp_path, tiny_config):
    """x then y in the dashboard of a 2-worker run: both workers stop at the same step, rank 0 checkpoints and
    marks the run stopped, and the processes are gone, all within 5 s of the key."""
    from functools import partial

    from distributed_support import children, gone
    from pilot_support import halfcell, wait_for

    from diffdash.distributed.launch import launch
    from diffdash.store import RunDir
    from diffdash.ui.workers_app import WorkersApp

    config = tiny_config(epochs=1000, train_limit=256, val_limit=64, batch_size=32, precision="fp32")
    run = RunDir.create(tmp_path, "ui", config=config.to_dict())
    start = partial(launch, run.path, 2, threads_per_worker=1, log_path=run.path / "workers.log")
    app = WorkersApp(run, config, start=start, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.view.last.get("step", 0) >= 3, timeout=240), "no steps shown"
        workers = children(app.proc.pid)
        assert len(workers) == 2
        from diffdash.ui.widgets.system_line import SystemLine

        app.read_system()  # the system line: torchrun's agent and both workers, not this launcher
        assert app.query_one(SystemLine).figures["processes"] >= 3
        await pilot.press("x")
        await pilot.pause(0.1)
        assert app.training, "x alone must only ask"
        t0 = time.monotonic()
        await pilot.press("y")
        assert await wait_for(pilot, lambda: all(gone(pid) for pid in workers), timeout=30)
        stop_s = time.monotonic() - t0
        assert await wait_for(pilot, lambda: app.final_state is not None, timeout=30)
        assert app.is_running, "stop keeps the dashboard open"
    assert stop_s < 5.0, f"stopping the workers took {stop_s:.1f} s"
    assert app.final_state == "stopped"
    status = run.read_status()
    assert status["state"] == "stopped" and run.last_checkpoint.is_file()
    assert run.read_events()[0][-1]["event"] == "stopped"


@pytest.mark.parametrize("model", ["ddpm", "cold"])
def test_the_rows_of_a_global_batch_add_up_to_its_loss(model, small_data, tiny_config):
    """Process.loss(rows=): each worker's share, drawn from the global batch's draws, weighted by its rows,
    sums to the 1-process loss of the whole batch (cold: the degradation's random parameters too)."""
    torch = pytest.importorskip("torch")
    from diffdash.diffusion import build_process
    from diffdash.mnist.load import to_tensor
    from diffdash.models import build_network

    cold = dict(model="cold", n_T=20, sampler="alg2", degradation="mask", mask_place="random")
    config = tiny_config(precision="fp32", **(cold if model == "cold" else {}))
    process, net = build_process(config, "cpu"), build_network(config)
    x = to_tensor(small_data.train_images[:13])

    def loss(rows=None):
        with torch.no_grad():
            return process.loss(net, x, torch.Generator().manual_seed(5), rows=rows).double()

    whole = loss()
    for world in (2, 3):
        parts = [train_rows(len(x), r, world) for r in range(world)]
        total = sum(loss(rows) * count for rows, count, _ in parts) / len(x)
        assert float(total) == pytest.approx(float(whole), rel=1e-6)


def test_peer_failures_are_told_from_training_errors():
    pytest.importorskip("torch")
    from diffdash.distributed.group import is_peer_failure

    reset = RuntimeError("[third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error: Connection reset by peer")
    assert is_peer_failure(reset)
    assert not is_peer_failure(ValueError("loss became nan at step 3"))


def test_worker_controls_in_a_world_of_one_pass_requests_through(tmp_path):
    pytest.importorskip("torch")
    from diffdash.distributed.worker_controls import WorkerControls

    controls = WorkerControls(World(), tmp_path)
    controls.sync()
    assert not controls.stop.is_set()
    write_control(tmp_path, ControlState(paused=True, sample=1))
    controls.reader.every_s = 0.0
    controls.sync()
    assert controls.paused.is_set() and controls.sample_now.is_set() and not controls.stop.is_set()
    write_control(tmp_path, ControlState(stop=True, sample=1))
    controls.sync(force=True)
    assert controls.stop.is_set() and not controls.paused.is_set()


WORKERS_LOG = """[rank1]: Traceback (most recent call last):
[rank1]: RuntimeError: [third_party/gloo/gloo/transport/tcp/pair.cc:561] Connection closed by peer [127.0.0.1]:45462.
[rank0]: Traceback (most recent call last):
[rank0]: OverflowError: cannot convert float infinity to integer
E1129 12:23:00.796000 29138 torch/distributed/elastic/multiprocessing/api.py:1002] failed (exitcode: 1) local_rank: 0
"""


def test_a_crash_names_rank_0s_error_from_the_workers_log(tmp_path, capsys):
    """The launcher's last words say why, not only "see workers.log": rank 0's error, not its peer's echo."""
    from diffdash.commands.train_workers import report_end
    from diffdash.store import RunDir

    (tmp_path / "workers.log").write_text(WORKERS_LOG)
    assert report_end(RunDir(tmp_path), "crashed", 1) == 1
    err = capsys.readouterr().err
    assert "rank 0: OverflowError: cannot convert float infinity to integer" in err
    assert "Connection closed" not in err


def test_a_crash_on_a_full_disk_says_so(tmp_path, capsys, monkeypatch):
    """On a full disk the workers' own messages are lost (workers.log is on it too): the launcher says it.
    The real free space of tmp_path is measured; the threshold is raised above it."""
    import shutil

    from diffdash.commands import train_workers
    from diffdash.store import RunDir

    monkeypatch.setattr(train_workers, "FULL_BELOW", shutil.disk_usage(tmp_path).free + (1 << 30))
    train_workers.report_end(RunDir(tmp_path), "crashed", 1)
    assert "is full" in capsys.readouterr().err


def test_a_worker_refuses_a_run_another_process_trains(tmp_path):
    """`python -m diffdash.worker RUN` (torchrun by hand, a requeued job) on a run `diffdash new` is training:
    rank 0 must not become its second writer. Only the worker's own launcher may hold the lock for it."""
    import json
    import subprocess
    import sys

    from diffdash.options.run_config import RunConfig
    from diffdash.training.worker import train_worker

    tiny = {"dataset": "mnist-small", "n_hidden": [4], "train_limit": 64, "val_limit": 16, "n_T": 5, "epochs": 1}
    (tmp_path / "config.json").write_text(json.dumps({**RunConfig().to_dict(), **tiny, "device": "cpu"}))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom diffdash.store import RunDir\n"
         "RunDir(Path(sys.argv[1])).hold_lock(); print('held', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        said: list[str] = []
        assert train_worker(tmp_path, World(), resume=False, epochs=None, say=said.append) == 2
        assert f"being trained by pid {holder.pid}" in said[-1]
        assert not (tmp_path / "metrics.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
