"""`diffdash new`'s run options, made from the option table (diffdash/options): one flag per option, with
its type, default, help and --help section as declared there, so no option is spelled here.

A choice option shows its choices as its metavar ([ddpm|cold]) but stays a plain string, so a bad value gets
the table's message that names the fix; shell completion offers the same choices (completion.py). A study
member is validated through the same table (diffdash/options/table.py `from_text`) as `new` is here.
"""

from __future__ import annotations

import click

from diffdash.commands.common import config_error
from diffdash.options.option import Option
from diffdash.options.run_config import ConfigError, RunConfig
from diffdash.options.table import BY_NAME, OPTIONS, from_text

CLICK_TYPES = {"int": int, "float": float, "str": str, "int | None": int, "float | None": float, "str | None": str}


def training_options(f):
    for option in reversed([o for o in OPTIONS if o.cli]):
        f = click_option(option)(f)
    return f


def click_option(option: Option):
    """The flag of one option of the table."""
    if option.is_flag:
        return click.option(option.flag, option.name, is_flag=True, default=option.default, help=option.help)
    kind = CLICK_TYPES.get(option.type, str)  # lists are text ("16,32,32,16"), parsed by the table
    if option.bounds is not None:
        kind = click.IntRange(*option.bounds)
    default = option.cli_default()
    help_text = option.help
    if option.varies:
        help_text += f" [default: {option.default_text()}]"
    return click.option(
        option.flag,
        option.name,
        type=kind,
        default=default,
        show_default=default is not None and not option.varies,
        metavar=choices_metavar(option),
        help=help_text,
    )


max_time_resume_option = click.option(
    "--max-time",
    default=None,
    help="Train until the run's training time reaches this in all, e.g. 1h (default: as before).",
)


def resume_max_time(run, config: RunConfig, max_time: str | None, nproc: int) -> None:
    """`resume --max-time`: the run's new budget, or a refusal (exit 2) when the budget it would train under is
    already spent, which would only write another checkpoint."""
    from diffdash.formats import format_seconds
    from diffdash.options.run_config import parse_duration

    if max_time is not None and max_time != config.max_time:
        if nproc > 1:  # the workers read the run's config.json, which says how it was trained so far
            raise click.BadParameter("cannot change a run resumed with --nproc > 1", param_hint="'--max-time'")
        try:
            parse_duration(max_time)
        except ConfigError as exc:
            raise config_error(exc) from None
        config.max_time = max_time
    budget = config.max_time_s()
    try:
        status = run.read_status()
        trained = float(status.get("train_time", status.get("time")) or 0.0)
    except (OSError, ValueError, TypeError):
        trained = 0.0
    if budget is not None and trained >= budget:
        raise click.BadParameter(
            f"the run has trained {format_seconds(trained)} and its max-time is {config.max_time}: give a longer "
            "one, e.g. --max-time 1h",
            param_hint="'--max-time'",
        )


def choices_metavar(option: Option) -> str | None:
    """'[ddpm|cold]' for an option with a fixed set of values (looked up now: cheap, no torch)."""
    allowed = option.allowed()
    return "[" + "|".join(map(str, allowed)) + "]" if allowed else None


def build_config(**kw) -> RunConfig:
    """The validated config from `new`'s values (text lists, defaults that depend on --model left None)."""
    if kw.get("compile"):
        check_compile(kw.get("device", "auto"))
    try:
        config = RunConfig(**from_text(kw)).validate()
    except ConfigError as exc:
        raise config_error(exc) from None
    refuse_unused(config)
    return config


def refuse_unused(config: RunConfig) -> None:
    """A flag typed for another kind of run (--unet-channels with the CNN, --guidance without --cond class,
    --kernel-size for DDPM) would be dropped from config.json without a word: exit 2 saying what it is for."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    for option in OPTIONS:
        typed = ctx.get_parameter_source(option.name) is click.core.ParameterSource.COMMANDLINE
        if option.cli and option.applies_to and typed and not option.applies(config):
            if option.network:
                used = f"--net {option.network} runs, and this one is --net {config.net}"
            elif option.applies_to == "cond":
                used = "class-conditional runs (--cond class)"
            else:
                used = f"cold-diffusion runs (--model cold), and this one is --model {config.model}"
            raise click.BadParameter(f"{option.flag} is only for {used}: drop it", param_hint=option.flag)


def check_compile(device: str) -> None:
    """--compile where torch.compile cannot work (no C++ compiler, no Triton, MPS): exit 2 before the run exists."""
    from diffdash.machine.devices import DeviceError, resolve_device
    from diffdash.training.compiled import compile_problem

    try:
        problem = compile_problem(resolve_device(device))
    except DeviceError:
        return  # the device check that follows names the problem
    if problem:
        raise click.BadParameter(problem, param_hint="'--compile'")


study_option = click_option(BY_NAME["study"])  # after --runs-dir in `new`, as before the table
