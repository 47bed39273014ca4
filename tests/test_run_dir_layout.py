"""`RunDir` names every file a run folder holds, whoever writes it: the trainer, `tag`, `note`, the study
runner (study.json) and the --nproc launcher (control.json), so the folder's layout lives in one module."""

from __future__ import annotations

import shutil
from pathlib import Path

from diffdash.distributed.control_file import ControlState, control_path, write_control
from diffdash.store import RunDir, append_note
from diffdash.store.tags import add_tags
from diffdash.study import load_study
from diffdash.study.members import inspect, read_tag, write_tag


def known_files(run: RunDir) -> set[Path]:
    names = ("config_path", "metrics_path", "status_path", "lock_path", "control_path", "study_path", "tags_path",
             "notes_path", "workers_log")  # fmt: skip
    return {getattr(run, name) for name in names}


def test_every_file_of_a_used_run_folder_is_named_by_run_dir(template_run, tmp_path):
    study_file = tmp_path / "s.toml"
    study_file.write_text('[study]\nname = "s"\n[runs.a]\nepochs = 1\n', encoding="utf-8")
    study = load_study(study_file)
    (member,) = study.members
    run = RunDir(tmp_path / "runs" / member.run_id)
    shutil.copytree(template_run, run.path)
    add_tags(run, ["keep"])
    append_note(run, "looks fine")
    write_control(run.path, ControlState(stop=True))
    write_tag(run, study, member)
    run.workers_log.write_text("torchrun output\n")
    files = {p for p in run.path.rglob("*") if p.is_file()}
    loose = {
        p for p in files - known_files(run) if run.samples_dir not in p.parents and run.checkpoints_dir not in p.parents
    }
    assert not loose, f"files RunDir does not name: {sorted(p.name for p in loose)}"
    assert {run.control_path, run.study_path, run.tags_path, run.notes_path} <= files
    assert control_path(run.path) == run.control_path
    assert read_tag(run) == run.read_study_tag() and run.read_study_tag()["member"] == "a"


def test_the_study_reads_a_run_through_run_dir(template_run, tmp_path):
    """study.json and config.json's study name are read with RunDir's readers: a damaged study.json or config
    is no tag and no study, not a crash."""
    run = RunDir(tmp_path / "r")
    shutil.copytree(template_run, run.path)
    assert run.study_name() is None and run.read_study_tag() is None
    run.study_path.write_text("{not json")
    assert run.read_study_tag() is None
    config = run.config_as_written()
    assert config is not None and config["n_hidden"] == [4, 8, 4]
    run.write_config({**config, "study": "s"})
    assert run.study_name() == "s"
    run.config_path.write_text("[1, 2]")
    assert run.config_as_written() is None and run.study_name() is None


def test_inspect_reads_the_folder_it_names(template_run, tmp_path):
    study_file = tmp_path / "s.toml"
    study_file.write_text('[study]\nname = "s"\n[runs.a]\nepochs = 1\n', encoding="utf-8")
    study = load_study(study_file)
    (member,) = study.members
    run = RunDir(tmp_path / member.run_id)
    shutil.copytree(template_run, run.path)
    assert inspect(tmp_path, study, member).state == "foreign"  # its config names no study
    run.write_config({**run.config_as_written(), "study": "s"})
    assert inspect(tmp_path, study, member).state == "finished"
