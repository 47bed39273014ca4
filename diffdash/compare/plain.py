"""`diffdash compare --plain`: what the compare screen says, as text for a pipe, a file or a log.

Plain Python on the run folders (no UI), so it works without a terminal.
"""

from __future__ import annotations

from diffdash.compare.quality_curve import equal_time_text, fid_at_equal_time
from diffdash.compare.shared import (
    align,
    config_diff,
    format_value,
    read_config_safe,
    read_status_safe,
    run_label,
    summary_row,
    val_set,
    val_set_warning,
)
from diffdash.options.run_kinds import loss_kind, loss_kinds_warning
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.store.tags import read_tags


def compare_text(runs: list[RunDir]) -> str:
    """`compare --plain`: the summary table (with each run's loss kind), the warnings (losses of different kinds,
    different validation sets), FID at equal training time and the config diff, as text."""
    configs = [read_config_safe(r) for r in runs]
    labels = [run_label(r, c) for r, c in zip(runs, configs, strict=True)]
    table = [["run", "status", "loss", "best val @ep", "final val", "epochs", "s/epoch", "img/s", "FID @ep", "params",
              "val on", "tags"]]  # fmt: skip
    histories = [read_history(r) for r in runs]
    for run, config, label, h in zip(runs, configs, labels, histories, strict=True):
        s = summary_row(run, h, read_status_safe(run))
        name, n_val = val_set(config)
        table.append([
            label,
            s["status"],
            loss_kind(config),
            f"{s['best_val']:.5f} @{s['best_epoch']}" if s["best_val"] is not None else "-",
            f"{s['final_val']:.5f}" if s["final_val"] is not None else "-",
            f"{s['epochs']}/{s['epochs_total'] or '?'}",
            f"{s['seconds_per_epoch']:.1f}" if s["seconds_per_epoch"] is not None else "-",
            f"{s['images_per_s']:.0f}" if s["images_per_s"] is not None else "-",
            f"{s['fid']:.1f} @{s['fid_epoch']}" if s["fid"] is not None else "-",
            format_value(config.get("parameters")),
            f"{format_value(n_val)} {name}",
            " ".join(read_tags(run)) or "-",
        ])  # fmt: skip
    lines = align(table)
    equal = equal_time_text(labels, fid_at_equal_time(histories))
    if equal and len(runs) > 1:
        lines += ["", equal]
    warnings = [w for w in (loss_kinds_warning(labels, configs), val_set_warning(labels, configs)) if w]
    if warnings:
        lines += ["", *("warning: " + w for w in warnings)]
    rows = config_diff(configs)
    lines.append("")
    if rows:
        lines += align([["differs", *labels]] + [[k, *(format_value(v) for v in vals)] for k, vals in rows])
    else:
        lines.append("configs are identical")
    return "\n".join(lines) + "\n"
