"""An offline Weights & Biases run from a run's folder, for people who keep their experiments in W&B.

`diffdash export RUN --wandb DIR` replays metrics.jsonl through the `wandb` package in offline mode: nothing
is sent and nobody is asked to log in; `wandb sync DIR` uploads the runs later, from any machine. Logged at
each event's training step (W&B's x-axis), one W&B history row per step:

    step/loss, step/lr, step/grad_norm, step/images, step/time     every training step
    epoch/train_loss, epoch/val_loss, epoch/seconds, ...           every numeric field of an epoch event
    sample/seconds, sample/sample_steps                            each preview's
    eval/fid, eval/confidence, ..., eval/digits/0..9, eval/recon/<row>/<metric>
    system/cpu_percent, system/rss_bytes, system/gpu_mem_bytes     the training process's resources
    samples/preview                                                every preview grid, as a wandb.Image
    samples/<variant>, samples/forward_process                     a cold run's extra grids, its forward strip

The run's config.json is the W&B run's config. As the TensorBoard bridge (tensorboard.py) reads the same
events, a resumed run's lines that the resume undid are left out. Each W&B run folder is built under a
temporary name and renamed into DIR (a run exported again replaces its folder), so `wandb sync DIR` finds
every run in it and never half a one. No UI here; `wandb` is an optional extra, imported only when used.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

from diffdash.fsutil import read_json
from diffdash.store import RunDir
from diffdash.store.events import drop_undone

INSTALL_HINT = "pip install 'diffdash[wandb]'"
PROJECT = "diffdash"
LOGGED_KINDS = ("step", "epoch", "eval", "system", "sample")  # their numeric fields become scalars
PLACEMENT = ("epoch", "step", "images", "time")  # where an event happened: the step is the x-axis itself
RUN_FOLDER = re.compile(r"^offline-run-\d{8}_\d{6}-(?P<id>.+)$")


class WandbMissing(ImportError):
    """The optional `wandb` package is not installed."""


class WandbExportRefused(OSError):
    """DIR is a file, or holds a folder by a W&B run's name that this bridge did not write."""


def require_wandb() -> None:
    """Fail before any work when the package is missing."""
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise WandbMissing(f"W&B export needs the wandb package: {INSTALL_HINT}") from None


def wandb_id(run: RunDir) -> str:
    """The W&B run id: the run folder's name with the characters W&B refuses (/ \\ # ? % :) replaced."""
    return re.sub(r"[/\\#?%:\s]", "-", run.id)[:64] or "run"


def scalars(e: dict[str, Any]) -> dict[str, float]:
    """Every number an event holds, keyed `<kind>/<field>` (a step's images and time too); the eval's digit
    histogram and reconstruction figures as `eval/digits/<d>` and `eval/recon/<row>/<metric>`."""
    kind = e.get("event")
    if kind not in LOGGED_KINDS:
        return {}
    out: dict[str, float] = {}
    for key, value in e.items():
        if key in PLACEMENT and not (kind == "step" and key in ("images", "time")):
            continue
        if _number(value):
            out[f"{kind}/{key}"] = value
    if kind == "eval":
        for digit, count in enumerate(e.get("histogram") or []):
            if _number(count):
                out[f"eval/digits/{digit}"] = count
        for row, figures in (e.get("recon") or {}).items():
            for metric, value in (figures if isinstance(figures, dict) else {}).items():
                if _number(value):
                    out[f"eval/recon/{row}/{metric}"] = value
    return out


def images(run: RunDir, e: dict[str, Any]) -> dict[str, Path]:
    """The grids an event stands for: a sample event's preview (and a cold run's variants of it); the start's
    forward strip."""
    kind = e.get("event")
    if kind == "start":
        forward = run.samples_dir / "forward.png"
        return {"samples/forward_process": forward} if forward.is_file() else {}
    if kind != "sample" or not e.get("path"):
        return {}
    main = run.path / e["path"]
    out = {"samples/preview": main} if main.is_file() else {}
    for variant in run.sample_variants():
        path = run.samples_dir / variant / main.name
        if path.is_file():
            out[f"samples/{variant}"] = path
    return out


def rows(run: RunDir) -> list[tuple[int, dict[str, Any]]]:
    """(step, {key: number or grid path}) in step order, one row per step; a later event's value of the same
    key at the same step wins (as W&B keeps the last value logged in a row)."""
    by_step: dict[int, dict[str, Any]] = {}
    for e in drop_undone(run.read_events()[0]):
        row = {**scalars(e), **images(run, e)}
        if row:
            step = e.get("step", 0)
            by_step.setdefault(step if isinstance(step, int) else 0, {}).update(row)
    return sorted(by_step.items())


def export_run(run: RunDir, wandb_dir: str | Path) -> Path:
    """Write `run` as an offline W&B run into DIR/offline-run-<time>-<id>; returns that folder."""
    require_wandb()
    root = Path(wandb_dir)
    if root.exists() and not root.is_dir():
        raise WandbExportRefused(f"{root} is not a folder")
    run_id = wandb_id(run)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{run_id}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        folder = _write(run, run_id, staging)
        target = root / folder.name
        if target.exists() and not _ours(target, run_id):
            raise WandbExportRefused(f"{target} exists and is not an export of {run.id}; choose another DIR")
        for i, earlier in enumerate(p for p in root.glob("offline-run-*") if _ours(p, run_id)):
            earlier.rename(staging / f"old-{i}")  # an earlier export of this run: replaced, not doubled
        folder.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _write(run: RunDir, run_id: str, staging: Path) -> Path:
    """One offline W&B run under `staging`/wandb; its folder."""
    import wandb

    try:
        config = read_json(run.config_path)
    except (OSError, ValueError):
        config = {}
    with _quiet_env():
        w = wandb.init(
            project=PROJECT,
            id=run_id,
            name=run.id,
            config=config if isinstance(config, dict) else {},
            dir=str(staging),
            settings=_settings(wandb, staging),
        )
        try:
            for step, row in rows(run):
                w.log({k: wandb.Image(str(v)) if isinstance(v, Path) else v for k, v in row.items()}, step=step)
            w.finish()
        except BaseException:
            with contextlib.suppress(Exception):
                w.finish(exit_code=1)
            raise
    folders = [p for p in (staging / "wandb").glob("offline-run-*") if p.is_dir()]
    if len(folders) != 1:
        raise RuntimeError(f"wandb wrote {len(folders)} run folders under {staging}, expected one")
    return folders[0]


def _settings(wandb: Any, staging: Path) -> Any:
    """Offline, silent, and nothing read about this machine: the exporting process's CPU or git state is
    not the run's (its resources are in system/...). Older wandb versions lack some of these names: the
    offline essentials then."""
    quiet = {"mode": "offline", "silent": True, "console": "off", "save_code": False, "root_dir": str(staging)}
    extra = {"disable_git": True, "x_disable_stats": True, "x_disable_meta": True, "x_disable_machine_info": True}
    try:
        return wandb.Settings(**quiet, **extra)
    except Exception:  # noqa: BLE001 - a field this version does not know (pydantic or TypeError)
        return wandb.Settings(mode="offline", silent=True)


@contextlib.contextmanager
def _quiet_env():
    """Offline and silent whatever the user's environment says (WANDB_MODE=online would try the network)."""
    keys = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_CODE": "true"}
    before = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _ours(folder: Path, run_id: str) -> bool:
    """An earlier export of this run: an offline-run folder of this id holding its .wandb file."""
    m = RUN_FOLDER.match(folder.name)
    return bool(m) and m.group("id") == run_id and (folder / f"run-{run_id}.wandb").is_file()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
