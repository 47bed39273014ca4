"""One row per run folder for `diffdash runs`, read from config.json, status.json and the tail of metrics.jsonl.

Listing must stay instant with hundreds of runs, so the summary figures come from status.json (which the
engine keeps current) and metrics.jsonl is only checked at its end for a truncated line; the whole history
is parsed only when status.json is unusable. A damaged folder becomes a row with a reason, never an error.
No torch, no textual here.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diffdash.models import network_text
from diffdash.options.config_json import config_problem
from diffdash.options.run_kinds import loss_kind
from diffdash.store import RunDir, list_run_dirs, read_notes, sorted_runs
from diffdash.store.events import END_KINDS
from diffdash.store.tags import read_tags

DAMAGED = "damaged"
TAIL_BYTES = 65536


@dataclass
class RunSummary:
    id: str
    path: str
    index: int | None = None
    name: str | None = None
    model: str | None = None
    n_hidden: list[int] | None = None
    loss_kind: str | None = None  # what its losses measure: "MSE(ε)" (DDPM) or "L1(x0)" (cold); see run_kinds
    network: str | None = None  # '16,32,32,16' for the CNN, 'unet 32,64,128' (diffdash.models.network_text)
    parameters: int | None = None
    batch_size: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    images: int | None = None
    best_val: float | None = None
    best_epoch: int | None = None
    last_val: float | None = None
    status: str = DAMAGED
    state: str | None = None
    phase: str | None = None  # a running run's phase beside training steps: "training the MNIST classifier 40%"
    error: str | None = None
    started: float | None = None
    duration: float | None = None
    damaged: str | None = None
    has_notes: bool = False
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """What views call the run: its display name, else its id."""
        return self.name or self.id


def _read_json_file(path: Path, what: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None, f"{what} is missing"
    except UnicodeDecodeError:
        return None, f"{what} is not text"
    except json.JSONDecodeError as exc:
        return None, f"{what} is not valid JSON (line {exc.lineno}: {exc.msg})"
    except OSError as exc:
        return None, f"{what} cannot be read ({exc.strerror})"
    if not isinstance(data, dict):
        return None, f"{what} is not a JSON object"
    return data, None


def metrics_problem(run: RunDir, running: bool = False) -> str | None:
    """Why metrics.jsonl is damaged, from its last 64 KiB: missing, truncated last line, or bad JSON at the end.

    A live run may be mid-append, so an unfinished last line only counts against runs that are not running.
    """
    try:
        with open(run.metrics_path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - TAIL_BYTES))
            tail = f.read()
    except FileNotFoundError:
        return "metrics.jsonl is missing"
    except OSError as exc:
        return f"metrics.jsonl cannot be read ({exc.strerror})"
    if size == 0:
        return None if running else "metrics.jsonl is empty"
    if not tail.endswith(b"\n"):
        if running:
            tail = tail[: tail.rfind(b"\n") + 1]
        else:
            cut = len(tail) - tail.rfind(b"\n") - 1
            return f"metrics.jsonl ends in a truncated line ({cut} bytes)"
    lines = tail.splitlines()
    if size > TAIL_BYTES and lines:
        lines = lines[1:]  # the first line of a tail read may be cut
    for line in lines[-20:]:
        try:
            if not isinstance(json.loads(line), dict):
                raise ValueError
        except ValueError:
            return "metrics.jsonl has a line that is not a JSON event near its end"
    return None


def _phase(phase: Any) -> str | None:
    """status.json's phase ({"phase", "done", "total"}) as a few words, or None."""
    if not isinstance(phase, dict) or not isinstance(phase.get("phase"), str):
        return None
    done, total = phase.get("done"), phase.get("total")
    if isinstance(done, int) and isinstance(total, int) and total > 0:
        return f"{phase['phase']} {min(done, total) / total:.0%}"
    return phase["phase"]


def summarize(run: RunDir, index: int | None = None) -> RunSummary:
    """The listing row of one folder; problems become `damaged` with a reason instead of exceptions."""
    s = RunSummary(id=run.id, path=str(run.path), index=index)
    if not run.is_run():
        s.damaged = "not a run: no config.json or status.json"
        s.started = _mtime(run.path)
        return s
    problems: list[str] = []
    config, problem = _read_json_file(run.config_path, "config.json")
    if config is not None and not problem:
        problem = config_problem(config)
        config = None if problem else config
    if problem:
        problems.append(problem)
    config = config or {}
    s.name = _str(config.get("name"))
    s.model = _str(config.get("model"))
    s.loss_kind = loss_kind(config) if config else None
    s.n_hidden = _int_list(config.get("n_hidden"))
    s.network = network_text(config) if config else None
    s.parameters = _int(config.get("parameters"))
    s.batch_size = _int(config.get("batch_size"))
    s.epochs = _int(config.get("epochs"))

    status, problem = _read_json_file(run.status_path, "status.json")
    if problem:
        problems.append(problem)
        status = _status_from_metrics(run)
    elif status.get("state") == "running" and not RunDir._writer_alive(status):
        # as RunDir.read_status does, without reading the file twice
        status = {**status, "state": "crashed", "error": status.get("error") or "training process is gone"}
    s.state = _str(status.get("state"))
    s.error = _str(status.get("error"))
    s.phase = _phase(status.get("phase")) if s.state == "running" else None
    s.epoch = _int(status.get("epoch"))
    s.epochs = _int(status.get("epochs")) or s.epochs
    s.images = _int(status.get("images"))
    s.best_val = _float(status.get("best_val"))
    s.best_epoch = _int(status.get("best_epoch"))
    s.last_val = _float(status.get("last_val"))
    s.started = _float(status.get("started")) or _mtime(run.path)
    s.duration = _duration(status) if s.state != "created" else None  # prepared: no time spent yet

    # a crash may cut a line; a run prepared with `new --prepare` has logged nothing yet
    problem = metrics_problem(run, running=s.state in ("running", "crashed", "created"))
    if problem:
        problems.append(problem)
    from diffdash.store.checkpoint_check import checkpoint_problem

    if s.state != "running" and (problem := checkpoint_problem(run.last_checkpoint)):
        problems.append(problem)  # what sample, eval and resume would refuse
    if s.state is None and not problems:
        problems.append("status.json has no state")
    s.damaged = "; ".join(problems) or None
    s.status = DAMAGED if s.damaged else (s.state or DAMAGED)
    s.has_notes = bool(read_notes(run).strip())
    s.tags = read_tags(run)
    return s


def summarize_all(root: str | Path) -> list[RunSummary]:
    """Every folder under `root`: runs in index order (1 = oldest), then folders that are not runs."""
    runs = sorted_runs(root)
    rows = [summarize(run, i) for i, run in enumerate(runs, 1)]
    seen = {r.path for r in runs}
    rows += [summarize(run) for run in list_run_dirs(root) if run.path not in seen]
    return rows


def _status_from_metrics(run: RunDir) -> dict[str, Any]:
    """Figures rebuilt from the events when status.json is unusable (slow path, damaged folders only)."""
    from diffdash.runs.history import read_history

    h = read_history(run)
    best = h.best_val
    last = h.last or {}
    state = last.get("event") if last.get("event") in END_KINDS else None
    return {
        "state": state,
        "epoch": h.epoch[-1] if h.epoch else None,
        "images": last.get("images"),
        "time": last.get("time"),
        "train_time": h.time.train if last else None,
        "best_val": best[0] if best else None,
        "best_epoch": best[1] if best else None,
        "last_val": h.last_val,
        "epochs": (h.start or {}).get("epochs"),
    }


def _duration(status: dict[str, Any]) -> float | None:
    """Training seconds (summed across resumes, validation and previews left out: `time_spent`); from a
    folder older than that figure, the run's clock; else wall time from start to end (or now, if live)."""
    if _float(status.get("train_time")) is not None:
        return float(status["train_time"])
    if _float(status.get("time")) is not None:
        return float(status["time"])
    started = _float(status.get("started"))
    if started is None:
        return None
    end = _float(status.get("ended")) or _float(status.get("heartbeat")) or time.time()
    return max(0.0, end - started)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _int_list(v: Any) -> list[int] | None:
    if isinstance(v, list) and all(isinstance(x, int) for x in v):
        return list(v)
    return None
