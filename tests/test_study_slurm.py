"""`study run --executor slurm` on a real one-node Slurm (tests/slurm_support.py; skipped with the reason where
it cannot start): a study finishes, a requeued job resumes its member to exactly the losses of an uninterrupted
local run, and a cancelled job shows as cancelled and continues when the study runs again."""

from __future__ import annotations

import json

import pytest
from executor_support import cli, epochs_done, record, start_cli, step_losses, study_file, wait_for
from slurm_support import SlurmUnavailable, start_slurm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurm():
    try:
        cluster = start_slurm()
    except SlurmUnavailable as exc:
        pytest.skip(f"no local Slurm: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def long_study(tmp_path_factory):
    """A one-member study long enough to interrupt, and its losses trained uninterrupted by the local runner."""
    folder = tmp_path_factory.mktemp("long")
    path = study_file(folder, "long", "a", epochs=8)
    result = cli("study", "run", str(path), "--runs-dir", str(folder / "ref"), "--headless")
    assert result.returncode == 0, result.stdout + result.stderr
    return path, step_losses(folder / "ref" / "long-a")


def status(path, root, env) -> tuple[str, dict]:
    text = cli("study", "status", str(path), "--runs-dir", str(root), env=env)
    rows = json.loads(cli("study", "status", str(path), "--runs-dir", str(root), "--json", env=env).stdout)["runs"]
    return text.stdout, {r["member"]: r for r in rows}


def test_three_members_finish_on_slurm(slurm, tmp_path):
    path, root = study_file(tmp_path, "three"), tmp_path / "runs"
    result = cli("study", "run", str(path), "--runs-dir", str(root), "--executor", "slurm", env=slurm.env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 3 runs finished" in result.stdout
    text, rows = status(path, root, slurm.env)
    print(text)
    for m in "abc":
        job = record(root, "three", m)["job_id"]
        assert rows[m]["state"] == "finished" and rows[m]["epoch"] == 2
        assert rows[m]["where"].startswith(f"slurm {job} on "), rows[m]["where"]
        assert json.loads((root / f"three-{m}" / "study.json").read_text())["member"] == m


def test_requeued_job_resumes_to_the_uninterrupted_losses(slurm, long_study, tmp_path):
    path, reference = long_study
    root = tmp_path / "runs"
    proc = start_cli("study", "run", str(path), "--runs-dir", str(root), "--executor", "slurm", "--headless",
                     env=slurm.env, log=tmp_path / "run.log")  # fmt: skip
    try:
        wait_for(lambda: epochs_done(root / "long-a") >= 2, 240, "two epochs of long-a")
        job = record(root, "long", "a")["job_id"]
        slurm.run("scontrol", "requeue", job)

        def requeued() -> str | None:
            text = cli("study", "status", str(path), "--runs-dir", str(root), env=slurm.env).stdout
            return text if " requeued " in text else None

        text = wait_for(requeued, 60, "the status to say requeued")
        print(text)
        assert f"slurm {job} on " in text and "BeginTime" in text  # Slurm holds a requeued job back a while
        slurm.run("scontrol", "update", f"jobid={job}", "StartTime=now", check=False)  # and now let it go
        assert proc.wait(300) == 0, (tmp_path / "run.log").read_text()
    finally:
        proc.kill()
    log = (root / ".studies" / "long" / "a.log").read_text()
    assert "diffdash resume long-a" in log  # the requeued job resumed the run, not started it again
    losses = step_losses(root / "long-a")
    assert [s for s, _ in losses] == [s for s, _ in reference]
    diff = max(abs(a - b) for (_, a), (_, b) in zip(losses, reference, strict=True))
    print(f"requeued: {len(losses)} steps, {[ln for ln in log.splitlines() if 'resuming at' in ln]}, max |diff| {diff}")
    assert diff == 0.0


def test_cancelled_job_shows_cancelled_and_continues(slurm, long_study, tmp_path):
    path, reference = long_study
    root = tmp_path / "runs"
    proc = start_cli("study", "run", str(path), "--runs-dir", str(root), "--executor", "slurm", "--headless",
                     env=slurm.env, log=tmp_path / "run.log")  # fmt: skip
    try:
        wait_for(lambda: epochs_done(root / "long-a") >= 2, 240, "two epochs of long-a")
        cancel = cli("study", "cancel", str(path), "--runs-dir", str(root), env=slurm.env)
        assert cancel.returncode == 0 and "cancelled job" in cancel.stdout, cancel.stdout + cancel.stderr
        assert proc.wait(120) == 1  # the runner reports the member cancelled
    finally:
        proc.kill()
    said = (tmp_path / "run.log").read_text()
    assert "a: cancelled" in said and "cancelled: a;" in said and "failed: a" not in said, said  # not a fault
    text, rows = status(path, root, slurm.env)
    print(text)
    assert rows["a"]["state"] == "cancelled" and rows["a"]["epoch"] < 8
    again = cli("study", "run", str(path), "--runs-dir", str(root), "--executor", "slurm", env=slurm.env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "a: stopped, resume from epoch" in again.stdout
    print(again.stdout)
    assert step_losses(root / "long-a") == reference


def test_a_job_sbatch_refuses_is_one_line_not_a_traceback(slurm, tmp_path):
    path, root = study_file(tmp_path, "nopart", "a"), tmp_path / "runs"
    args = ("--runs-dir", str(root), "--executor", "slurm", "--slurm", "partition=nosuch")
    result = cli("study", "run", str(path), *args, env=slurm.env, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "a: sbatch refused the job: " in result.stdout and "Traceback" not in result.stderr, result.stdout


def test_a_member_with_nproc_2_is_one_job_whose_task_starts_torchrun(slurm, tmp_path):
    path, root = study_file(tmp_path, "ddp", "a", epochs=1, extra="nproc = 2\n"), tmp_path / "runs"
    result = cli("study", "run", str(path), "--runs-dir", str(root), "--executor", "slurm", env=slurm.env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 1 runs finished" in result.stdout
    job = record(root, "ddp", "a")["job_id"]
    shown = slurm.run("scontrol", "show", "job", job)
    assert "NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2" in shown, shown  # one job: threads 1 x nproc 2
    log = (root / ".studies" / "ddp" / "a.log").read_text()
    assert "--nproc 2" in log and "2 workers × 1 threads (torchrun" in log, log
    run = root / "ddp-a"
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    assert (run / "workers.log").is_file() and epochs_done(run) == 1  # torchrun wrote its workers' log here
