"""The study commands' cluster side: `study run --executor slurm|ray` options, the runner they make, and the
scheduler's view for `study status`. Bad input (an unknown key, an extra not installed, a Ray address nobody
answers, a runs folder a node cannot see) exits 2 with one line before any folder is made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

executor_options = [
    click.option(
        "--executor",
        type=click.Choice(["local", "slurm", "ray"]),
        default="local",
        show_default=True,
        help="Where the runs train: processes here, a Slurm job each, or a Ray task each.",
    ),
    click.option(
        "--slurm",
        "slurm_pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="A [slurm] setting over the file's: partition, time, cpus, gpus_per_task, mem, account, extra.",
    ),
    click.option(
        "--ray-address", default=None, help="The Ray cluster: auto or HOST:PORT [default: [ray].address or auto]."
    ),
]


def add_executor_options(f: Callable) -> Callable:
    for option in reversed(executor_options):
        f = option(f)
    return f


def cluster_runner(
    executor: str, study: Any, root: Path, members: list, *, slurm_pairs: tuple[str, ...], ray_address: str | None,
    restart_changed: bool, say: Callable[[str], None],
) -> Any:  # fmt: skip
    """The runner for a cluster executor, or None for `local`; exit 2 (one line) when it cannot place the study."""
    if executor == "local":
        if slurm_pairs or ray_address:
            flag = "--slurm" if slurm_pairs else "--ray-address"
            raise click.BadParameter(f"{flag} needs --executor {'slurm' if slurm_pairs else 'ray'}", param_hint=flag)
        return None
    from diffdash.study.executors import ExecutorError, cluster_runner, executor_for
    from diffdash.study.executors.tables import TableError, parse_pairs

    try:
        pairs = parse_pairs(slurm_pairs, "slurm") if slurm_pairs else {}
    except TableError as exc:
        raise click.BadParameter(str(exc), param_hint="--slurm") from None
    if slurm_pairs and executor != "slurm":
        raise click.BadParameter("--slurm needs --executor slurm", param_hint="--slurm")
    if ray_address and executor != "ray":
        raise click.BadParameter("--ray-address needs --executor ray", param_hint="--ray-address")
    try:
        placer = executor_for(executor, study, root, slurm=pairs, ray_address=ray_address)
    except ExecutorError as exc:
        raise click.UsageError(str(exc)) from None
    return cluster_runner(placer, study, root, members, restart_changed=restart_changed, say=say)


def join_status(rows: list, study: Any, root: Path) -> None:
    """Where each member runs and its scheduler's state, for a study placed on a cluster (no-op otherwise)."""
    from diffdash.study.executors import join_rows

    join_rows(rows, study, root)
