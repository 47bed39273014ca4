"""Where a cluster placed each member: the launch record `<runs>/.studies/<study>/<member>.json` (the file the
local runner keeps a child's pid in) holds the executor, the Slurm job id or the Ray task, and the node the
job landed on, so `study status`, `study cancel` and the board find the job from any machine that sees the runs
folder. A `<member>.cancel` file beside it asks a running member to checkpoint and stop (how `study cancel`
reaches a Ray task, whose driver may be another machine's process).
"""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from typing import Any

from diffdash.fsutil import atomic_write_json, read_json
from diffdash.study.members import study_dir
from diffdash.study.spec import Member, Study


def record_path(root: Path, study: Study, member: Member) -> Path:
    return study_dir(root, study) / f"{member.name}.json"


def cancel_path(root: Path, study: Study, member: Member) -> Path:
    return study_dir(root, study) / f"{member.name}.cancel"


def read_record(root: Path, study: Study, member: Member) -> dict[str, Any] | None:
    """The member's launch record when a cluster executor wrote it (a local runner's has no "executor")."""
    try:
        record = read_json(record_path(root, study, member))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("executor") else None


def write_record(root: Path, study: Study, member: Member, executor: str, **fields: Any) -> dict[str, Any]:
    path = record_path(root, study, member)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"executor": executor, "submitted_from": socket.gethostname(), "time": time.time(), **fields}
    atomic_write_json(path, record)
    cancel_path(root, study, member).unlink(missing_ok=True)
    return record


def update_record(root: Path, study: Study, member: Member, **fields: Any) -> None:
    """Add what the job learns once it runs (its node) to the record; best effort, never fails the job."""
    record = read_record(root, study, member)
    if record is None:
        return
    with contextlib.suppress(OSError):
        atomic_write_json(record_path(root, study, member), {**record, **fields})


def where_text(record: dict[str, Any] | None, scheduler: str = "") -> str:
    """`slurm 12 on node3`, `slurm 12 (pending: Priority)`, `ray on 10.0.0.2`: the board's and status' column."""
    if not record:
        return ""
    kind = record.get("executor", "")
    job = f" {record['job_id']}" if record.get("job_id") else ""
    node = f" on {record['node']}" if record.get("node") else ""
    if record.get("node_id"):  # a Ray node: several may share a host
        node += f" node {str(record['node_id'])[:8]}"
    return f"{kind}{job}{node}" + (f" ({scheduler})" if scheduler else "")
