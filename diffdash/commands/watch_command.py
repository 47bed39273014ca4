"""`diffdash watch [RUN]`: the dashboard on any run folder, following it live; never writes there.

Without a terminal the dashboard has nowhere to draw: `watch` then exits at once with code 2 and
says so, or with `--plain` prints a text snapshot of the run (what the dashboard would show).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from diffdash.commands.common import find_run, has_terminal, image_mode_option, runs_dir_option
from diffdash.store import RunDir


def plain_snapshot(run: RunDir) -> str:
    """The dashboard's figures as text: state, progress, rate, times, recent epochs, newest grid, last events."""
    from rich.text import Text

    from diffdash.formats import format_clock, format_loss
    from diffdash.runs.event_text import describe_event
    from diffdash.runs.history import History
    from diffdash.runs.progress import RunProgress

    try:
        config = run.read_config()
    except (OSError, ValueError):
        config = {}
    try:
        status = run.read_status()
    except (OSError, ValueError):
        status = {}
    meter = RunProgress(config)
    events, _ = run.read_events()
    history, notes = History(), []
    for e in events:
        meter.apply(e)
        history.apply(e)
        text = describe_event(e, run.id)
        if text:
            notes.append(Text.from_markup(text).plain)
    state = status.get("state", "unknown")
    meter.phase = status.get("phase") if state == "running" else None
    if state == "running" and status.get("time") is not None and status.get("heartbeat"):
        ticking = status["time"] + max(time.time() - status["heartbeat"], 0.0)  # the status is newer than events
        meter.last = {**meter.last, "time": max(ticking, meter.last.get("time", 0.0))}
    f = meter.figures(running=state == "running")
    from diffdash.models import network_text

    hidden = network_text(config)
    lines = [
        f"{run.id}  {state}  {config.get('model', '?')} [{hidden}]  {config.get('parameters', 0):,} params  "
        f"{config.get('resolved_device', config.get('device', '?'))} "
        f"{config.get('resolved_precision') or config.get('precision', '')}",
        f"epoch {f['epoch']}/{f['epochs']}  step {f['step']:,}/{f['steps']:,} ({f['run_frac']:.0%})"
        + (f"  {f['phase']}" if f["phase"] else "")
        + (f"  loss {f['loss']:.4f}" if f["loss"] is not None else "")
        + (f"  {f['images_per_s']:,.0f} img/s" if f["images_per_s"] else "")
        + f"  elapsed {format_clock(f['elapsed'])}"
        + (f"  ETA {format_clock(f['eta'])}" if state == "running" else f"  training {format_clock(f['train_time'])}"),
    ]
    for e in history.epochs[-5:]:
        train, val = format_loss(e.get("train_loss", 0)), format_loss(e.get("val_loss"))
        lines.append(f"  epoch {e.get('epoch', 0):>3}  train {train}  val {val}")
    lines += system_lines(history)
    grids = run.samples()
    if grids:
        lines.append(f"newest grid: {grids[-1][1]}")
    lines += [f"  {n}" for n in notes[-4:]]
    return "\n".join(lines)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 40) -> str:
    """The newest `width` values as block characters, lowest to highest of those shown."""
    shown = values[-width:]
    lo, hi = min(shown), max(shown)
    span = hi - lo or 1.0
    return "".join(SPARKS[min(int((v - lo) / span * len(SPARKS)), len(SPARKS) - 1)] for v in shown)


def system_lines(history) -> list[str]:
    """The `system` samples as a history: each figure's sparkline (oldest to newest), its latest and its peak."""
    from diffdash.formats import plural

    out = []
    figures = (("cpu_percent", "CPU", "%"), ("rss_bytes", "memory", "GiB"), ("gpu_mem_bytes", "GPU", "GiB"))
    for name, label, unit in figures:
        y = history.figure_x(name)[1]
        if not y:
            continue
        values = [v / 2**30 for v in y] if unit == "GiB" else y
        digits = ".0f" if unit == "%" else ".2f"
        out.append(
            f"  {label:<6} {sparkline(values)}  now {values[-1]:{digits}} {unit}  peak {max(values):{digits}} {unit}"
            f"  ({plural(len(values), 'sample')})"
        )
    return (["system (every few seconds of training, oldest to newest):", *out]) if out else []


@click.command("watch")
@click.argument("run_ref", metavar="[RUN]", default="latest")
@runs_dir_option
@image_mode_option
@click.option("--poll", type=float, default=0.5, show_default=True, help="Seconds between reads of the run folder.")
@click.option("--plain", is_flag=True, help="Print a text snapshot of the run and exit (works without a terminal).")
def watch_command(run_ref: str, runs_dir: Path | None, image_mode: str, poll: float, plain: bool) -> None:
    """Open the dashboard on a run (default: latest): finished, or being trained elsewhere (read-only).

    \b
    diffdash watch
    diffdash watch 20261128-143012-ddpm-3f2a
    diffdash watch latest --plain        # a text snapshot, e.g. over ssh in a script
    """
    if not 0.05 <= poll <= 60:
        raise click.BadParameter(f"poll must be between 0.05 and 60 seconds, got {poll}", param_hint="--poll")
    run = find_run(runs_dir, run_ref)
    if plain:
        click.echo(plain_snapshot(run))
        return
    if not has_terminal():
        raise click.UsageError(
            "watch needs a terminal (stdin and stdout): use `diffdash watch --plain` for a text snapshot"
        )
    from diffdash.ui.dashboard import DashboardApp
    from diffdash.ui.widgets.sample_image import image_class, sixel_tmux_warning

    warning = sixel_tmux_warning(image_mode)
    if warning:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
        time.sleep(1.5)  # readable before the dashboard takes the screen; it repeats it on its event line
    image_cls = image_class(image_mode)  # queries the terminal: before the app starts
    DashboardApp(run, image_mode=image_mode, image_cls=image_cls, poll_s=poll).run()


commands = [watch_command]
