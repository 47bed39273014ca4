"""Where each member of a study stands, read from its run folder, and what running the study would do with it.

The run folder decides: no folder -> start it; finished with all its epochs, or stopped by its --max-time ->
skip; finished short of the epochs the file now asks for -> resume to them; stopped, crashed or failed ->
resume from its checkpoint; alive (its process is still training, perhaps started by a runner that was killed)
-> wait for it. A folder whose config differs from what the file now says is "changed" and is never silently
mixed in.

The runner's only bookkeeping of its own is a launch record per member (`<runs>/.studies/<study>/`, with the
child's pid and its log), which tells a folder that a child is still creating from one a dead child left empty.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from diffdash.fsutil import atomic_write_json, read_json
from diffdash.store import RunDir, pid_alive, trash_dir
from diffdash.study.spec import Member, Study

STUDIES_DIR = ".studies"
# options that may differ between the file and a run folder without making the run "changed": more epochs
# extend a run; where the data or the device is, and how many threads, do not change what is trained
NOT_CHANGES = ("epochs", "data_dir", "device", "threads", "name", "study")
Action = Literal["start", "resume", "skip", "wait", "restart", "refuse"]


@dataclass
class MemberState:
    member: Member
    run: RunDir
    state: str  # pending, starting, running, finished, stopped, crashed, failed, foreign
    action: Action
    epoch: int = 0
    changed: list[str] = field(default_factory=list)  # "key: folder -> file" for each changed option
    why: str = ""

    @property
    def name(self) -> str:
        return self.member.name


def study_dir(root: Path, study: Study | str) -> Path:
    name = study if isinstance(study, str) else study.name
    return Path(root) / STUDIES_DIR / name


def log_path(root: Path, study: Study, member: Member) -> Path:
    return study_dir(root, study) / f"{member.name}.log"


def write_launch(root: Path, study: Study, member: Member, pid: int, pid_start: str | None, command: list[str]) -> None:
    folder = study_dir(root, study)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "pid_start": pid_start, "host": socket.gethostname(), "time": time.time(), "argv": command}
    atomic_write_json(folder / f"{member.name}.json", record)


def launched_alive(root: Path, study: Study, member: Member) -> bool:
    """Whether the last child launched for this member is still alive (on this host)."""
    try:
        record = read_json(study_dir(root, study) / f"{member.name}.json")
    except (OSError, ValueError):
        return False
    if record.get("host") != socket.gethostname() or not record.get("pid"):
        return False
    return pid_alive(int(record["pid"]), record.get("pid_start"))


def expected_config(member: Member) -> dict[str, Any]:
    """The config `diffdash new` would record for this member now (as RunConfig.to_dict gives it), built from
    its options through the option table as `new` builds it (its params were checked when the file was read)."""
    from diffdash.options.run_config import RunConfig
    from diffdash.options.table import from_text

    fields = set(RunConfig.__dataclass_fields__)
    return RunConfig(**from_text({k: v for k, v in member.params.items() if k in fields})).validate().to_dict()


def write_tag(run: RunDir, study: Study, member: Member) -> None:
    """Record in the run folder the options the study file gave this run, to tell later whether they changed."""
    tag = {"study": study.name, "member": member.name, "file": str(study.path), "options": member.options}
    tag.update({k: v for k, v in (("group", member.group), ("trial", member.trial)) if v is not None})
    run.write_study_tag(tag)


def read_tag(run: RunDir) -> dict[str, Any] | None:
    tag = run.read_study_tag()
    return tag if tag is not None and isinstance(tag.get("options"), dict) else None


def changed_options(member: Member, run: RunDir, config: dict[str, Any]) -> list[str]:
    """Options the study file now gives otherwise than when the run was started (more epochs are no change).

    Compared with the options recorded in the run's study.json, so a default changed in diffdash itself is
    not mistaken for an edit of the file; a folder without one is compared on the keys the file sets.
    """
    tag = read_tag(run)
    if tag is not None:
        old = {k: v for k, v in tag["options"].items() if k not in NOT_CHANGES}
        now = {k: v for k, v in member.options.items() if k not in NOT_CHANGES}
    else:
        expected = expected_config(member)
        keys = [k for k in member.options if k not in NOT_CHANGES and k in config and k in expected]
        old = {k: config[k] for k in keys}
        now = {k: expected[k] for k in keys}
    out = []
    for key in list(dict.fromkeys([*old, *now])):
        have, want = old.get(key, _DEFAULT), now.get(key, _DEFAULT)
        if _norm(have) != _norm(want):
            out.append(f"{key}: {_show(have)} in the run, {_show(want)} in the file")
    return out


_DEFAULT = "(default)"


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return v


def _show(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    return "none" if v is None else str(v)


def inspect(root: Path, study: Study, member: Member) -> MemberState:
    """Read one member's run folder and decide what `study run` would do with it."""
    run = RunDir(Path(root) / member.run_id)
    if not run.path.exists():
        return MemberState(member, run, "pending", "start")
    config = run.config_as_written()
    status = _status(run)
    if config is None and status is None:
        if launched_alive(root, study, member):
            return MemberState(member, run, "starting", "wait", why="its process is still setting up")
        return MemberState(member, run, "crashed", "restart", why="created but never started training")
    if config is not None and config.get("study") != study.name:
        owner = config.get("study")
        whose = f"study {owner!r}" if owner else "no study"
        return MemberState(member, run, "foreign", "refuse", why=f"{run.path} exists and belongs to {whose}")
    state = (status or {}).get("state") or "crashed"
    epoch = int((status or {}).get("epoch") or 0)
    out = MemberState(member, run, state, "skip", epoch=epoch)
    if config is not None:
        out.changed = changed_options(member, run, config)
    if state == "running":
        out.action = "wait"
    elif state == "finished" and epoch >= member.epochs:
        out.action = "skip"
    elif state == "stopped" and (status or {}).get("reason") == "max-time":  # the budget is the run's end
        out.action, out.why = "skip", "its --max-time is spent"
    elif epoch >= member.epochs:  # stopped or crashed past a lowered `epochs`: done (`resume` refuses fewer)
        out.action, out.why = "skip", f"it trained {epoch} epochs; the file asks for {member.epochs}"
    elif not run.last_checkpoint.is_file() and state == "finished":
        out.action, out.why = "refuse", f"{run.path} is finished at epoch {epoch} and has no checkpoint to extend"
    elif not run.last_checkpoint.is_file():
        out.action, out.why = "restart", "no checkpoint to resume from"
    else:
        out.action = "resume"
        if state == "finished":
            out.why = f"extend to {member.epochs} epochs"
    return out


def _status(run: RunDir) -> dict[str, Any] | None:
    try:
        status = run.read_status()
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def to_trash(run: RunDir) -> Path:
    """Move a run folder into <runs>/.trash/ (as `diffdash rm` does) so its name can be used again."""
    trash = trash_dir(run.path.parent)
    trash.mkdir(exist_ok=True)
    target = trash / run.id
    n = 2
    while target.exists():
        target = trash / f"{run.id}-{n}"
        n += 1
    os.rename(run.path, target)
    return target


def remove_launch(root: Path, study: Study, member: Member) -> None:
    (study_dir(root, study) / f"{member.name}.json").unlink(missing_ok=True)
