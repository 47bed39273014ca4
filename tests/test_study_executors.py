"""`study run --executor slurm|ray` refusing bad input before anything is made: exit 2, one error line, no runs
folder; the [slurm]/[ray] tables' checks; and how a scheduler's view and a run folder's state combine."""

from __future__ import annotations

import time

import pytest
from executor_support import cli, study_file

from diffdash.study import StudyError, load_study
from diffdash.study.executors.base import JobView, joined_state
from diffdash.study.executors.tables import parse_pairs, sbatch_options, time_minutes


def refused(result, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for w in words:
        assert w in errors[0], errors[0]


def test_unknown_slurm_key_is_refused_with_a_hint(tmp_path):
    path = study_file(tmp_path, "bad", "a", extra='[slurm]\npartitoin = "gpu"\n')
    result = cli("study", "run", str(path), "--runs-dir", str(tmp_path / "runs"), "--executor", "slurm")
    refused(result, "slurm.partitoin", "did you mean 'partition'")
    assert not (tmp_path / "runs").exists()
    with pytest.raises(StudyError, match="ray.num_cpu"):
        load_study(study_file(tmp_path, "bad2", "a", extra="[ray]\nnum_cpu = 1\n"))


def test_bad_slurm_option_and_options_without_their_executor(tmp_path):
    path = study_file(tmp_path, "opt", "a")
    runs = ("--runs-dir", str(tmp_path / "runs"))
    refused(cli("study", "run", str(path), *runs, "--executor", "slurm", "--slurm", "cpus=many"), "slurm.cpus")
    refused(cli("study", "run", str(path), *runs, "--slurm", "partition=gpu"), "--executor slurm")
    refused(cli("study", "run", str(path), *runs, "--executor", "ray", "--slurm", "cpus=2"), "--executor slurm")
    assert not (tmp_path / "runs").exists()


def test_a_ray_address_nobody_answers_fails_within_seconds(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed: pip install 'diffdash[ray]' (the check runs after it)")
    path = study_file(tmp_path, "noray", "a")
    started = time.monotonic()
    result = cli("study", "run", str(path), "--runs-dir", str(tmp_path / "runs"), "--executor", "ray",
                 "--ray-address", "127.0.0.1:9")  # fmt: skip
    refused(result, "127.0.0.1:9", "nobody answers")
    assert time.monotonic() - started < 30  # ray.init alone retries for a minute
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("module", "executor", "extra"), [("submitit", "slurm", "slurm"), ("ray", "ray", "ray")])
def test_missing_extra_names_the_install_line(tmp_path, module, executor, extra):
    """The extra made unimportable the way a missing package is (sys.modules[name] = None)."""
    import subprocess
    import sys

    path = study_file(tmp_path, "noextra", "a")
    code = (
        f"import sys; sys.modules[{module!r}] = None; from diffdash.cli import main; "
        f"sys.argv = ['diffdash', 'study', 'run', {str(path)!r}, '--runs-dir', {str(tmp_path / 'runs')!r}, "
        f"'--executor', {executor!r}]; main()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    refused(result, f'pip install "diffdash[{extra}]"')
    assert not (tmp_path / "runs").exists()


def test_slurm_times_and_extra_lines():
    assert [time_minutes(t) for t in (90, "90", "1:30:00", "2-00:00:00", "0:30", "1-12")] == [90, 90, 90, 2880, 1, 2160]
    assert time_minutes("soon") is None
    assert sbatch_options(["--qos=high", "#SBATCH --constraint a100", "--exclusive"]) == {
        "qos": "high",
        "constraint": "a100",
        "exclusive": True,
    }
    assert parse_pairs(("partition=gpu", "cpus=4", "extra=--qos=high"), "slurm") == {
        "partition": "gpu",
        "cpus": 4,
        "extra": ["--qos=high"],
    }


def test_the_scheduler_view_joins_the_run_folder():
    assert joined_state("pending", JobView("pending", reason="Priority")) == ("pending", "Priority")
    assert joined_state("stopped", JobView("pending", reason="BeginTime")) == ("requeued", "BeginTime")
    assert joined_state("running", JobView("running")) == ("running", "")
    assert joined_state("stopped", JobView("completing")) == ("stopped", "completing")  # cancelled, not starting
    assert joined_state("stopped", JobView("cancelled", live=False)) == ("cancelled", "")
    assert joined_state("crashed", JobView("node_fail", live=False)) == ("failed", "NODE_FAIL")
    assert joined_state("finished", JobView("pending")) == ("finished", "")
    assert joined_state("stopped", None) == ("stopped", "")
