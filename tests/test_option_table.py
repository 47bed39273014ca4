"""The option table (diffdash/options): RunConfig's fields, `new`'s flags and --help sections, completion and
study files all come from it; config.json keeps its key order, and old runs still load."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.commands.train_commands import new_command
from diffdash.options.run_config import EXTRA_FIELDS, RunConfig
from diffdash.options.table import OPTIONS

# config.json's keys before the table, in their order: a CNN run still writes them so, with the new ones between
OLD_KEYS = ["model", "n_hidden", "norm", "epochs", "batch_size", "lr", "betas", "schedule", "n_T", "seed",
            "sample_seed", "dataset", "data_dir", "train_limit", "val_limit", "device", "precision", "threads",
            "compile", "sample_every", "sampler", "sample_steps", "checkpoint_every", "name", "study", "ema",
            "preview_weights", "eval_every", "eval_n", "keep_snapshots"]  # fmt: skip


def default(f):
    return f.default_factory() if f.default is MISSING else f.default


def test_every_field_is_an_option_with_its_default():
    extra = {name for extras in EXTRA_FIELDS.values() for name, _, _ in extras}
    by_field = {f.name: f for f in fields(RunConfig)}
    assert [f for f in by_field if f not in extra] == [o.name for o in OPTIONS]
    for option in OPTIONS:
        assert default(by_field[option.name]) == option.default, option.name
        assert by_field[option.name].type == option.type, option.name
    assert RunConfig().validate() == RunConfig()  # every default passes its own check


def test_new_has_a_flag_per_option_with_the_tables_help_and_choices():
    params = {p.name: p for p in new_command.params}
    for option in OPTIONS:
        if option.cli:
            assert params[option.name].help.startswith(option.help), option.name
            assert option.flag in params[option.name].opts
    help_text = CliRunner().invoke(cli, ["new", "--help"], terminal_width=200).output
    assert "--net [cnn|unet]" in help_text and "--model [ddpm|cold]" in help_text
    sections = [line for line in help_text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert sections == ["Options:", "Network unet only (--net unet):",
                        "Class conditioning (--cond class, DDPM only):", "Previews and sample quality:",
                            "Display:", "Cold diffusion only (--model cold):"]  # fmt: skip


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--net", "resnet"], "unknown network 'resnet': choose one of cnn, unet"),
        (["--net", "unet", "--unet-channels", "32,64"], "unet-channels takes three widths"),
        (["--net", "unet", "--unet-channels", "30,60,120"], "multiples of 8"),
        (["--max-time", "soon"], "max-time 'soon' is not a duration"),
        (["--max-time", "0m"], "max-time must be a positive duration"),
    ],
)
def test_bad_values_exit_2_naming_the_option(runs_dir, argv, message):
    result = CliRunner().invoke(cli, ["new", "--headless", *argv])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not runs_dir.exists()


def test_config_json_keeps_the_old_keys_in_order_and_only_the_chosen_networks_options():
    cnn = list(RunConfig().validate().to_dict())
    assert [k for k in cnn if k in OLD_KEYS] == OLD_KEYS
    assert cnn[:4] == ["model", "net", "n_hidden", "norm"] and "unet_channels" not in cnn
    unet = RunConfig(net="unet").validate().to_dict()
    assert unet["unet_channels"] == [16, 32, 64] and "n_hidden" not in unet and "norm" not in unet
    assert "kernel_size" not in unet and "kernel_size" in RunConfig(model="cold", n_T=20, sampler="alg2").to_dict()


def test_a_config_written_before_the_table_loads_as_the_cnn(runs):
    from diffdash.options.config_json import load_config

    data = runs[0].read_config()
    assert "net" not in data
    config = load_config(data)
    assert config.net == "cnn" and config.n_hidden == data["n_hidden"] and config.max_time is None
    assert [k for k in config.to_dict() if k in data] == [k for k in data if k in config.to_dict()]


def test_completion_offers_every_choice_option_from_the_table():
    from diffdash.commands.completion import complete_values, option_values

    values = option_values()
    assert values["net"] == ("cnn", "unet") and values["norm"] == ("chw", "hw")
    assert {o.name for o in OPTIONS if o.choices} == set(values)
    net = next(p for p in new_command.params if p.name == "net")
    assert [c.value for c in complete_values(None, net, "u")] == ["unet"]


def test_study_files_take_the_networks_and_check_their_options(tmp_path):
    from diffdash.study import StudyError, load_study

    path = tmp_path / "s.toml"
    path.write_text('[study]\nname = "nets"\n[runs.u]\nnet = "unet"\nunet_channels = [16, 32, 64]\nmax_time = "1m"\n')
    (member,) = load_study(path).members
    assert member.params["net"] == "unet" and member.params["unet_channels"] == "16,32,64"
    assert "--unet-channels" in member.argv
    path.write_text('[study]\nname = "nets"\n[runs.u]\nnet = "unet"\nunet_channels = [16, 32]\n')
    with pytest.raises(StudyError, match=r"runs\.u\.unet_channels.*three widths"):
        load_study(path)


def test_a_network_sets_its_own_default_lr_and_an_explicit_one_wins(tmp_path):
    from diffdash.study import load_study
    from diffdash.study.members import expected_config

    help_text = CliRunner().invoke(cli, ["new", "--help"], terminal_width=200).output
    assert "Adam learning rate. [default: 0.0002; --net unet 0.001]" in help_text
    (lr,) = [o for o in OPTIONS if o.name == "lr"]
    assert lr.default_for("ddpm", "unet") == 1e-3 and lr.default_for("cold", "unet") == 1e-3
    assert lr.default_for("ddpm", "cnn") == 2e-4 == RunConfig().lr, "the CNN keeps the coursework's lr"
    path = tmp_path / "s.toml"
    path.write_text(
        '[study]\nname = "lrs"\n[runs.u]\nnet = "unet"\n[runs.c]\nnet = "cnn"\n'
        '[runs.w]\nnet = "unet"\nlr = 5e-4\n[runs.k]\nmodel = "cold"\nnet = "unet"\n'
    )
    members = {m.name: m for m in load_study(path).members}
    got = {name: expected_config(m)["lr"] for name, m in members.items()}
    assert got == {"u": 1e-3, "c": 2e-4, "w": 5e-4, "k": 1e-3}
    assert "--lr" not in members["u"].argv and members["w"].argv[members["w"].argv.index("--lr") + 1] == "0.0005"
    path.write_text('[study]\nname = "lrs"\n[runs.n]\nn_T = true\n')
    with pytest.raises(Exception, match=r"takes a value like 1000, got true"):  # not 'like None'
        load_study(path)


def test_runs_lists_the_network(runs_dir, tmp_path):
    from diffdash.store import RunDir

    RunDir.create(runs_dir, "u", config=RunConfig(net="unet", unet_channels=[16, 32, 64]).validate().to_dict())
    RunDir(runs_dir / "u").release_lock()
    result = CliRunner().invoke(cli, ["runs", "--json"])
    assert json.loads(result.output)[0]["network"] == "unet 16,32,64"
    table = CliRunner().invoke(cli, ["runs"], terminal_width=200).output
    assert "network" in table.splitlines()[0] and "unet 16,32,64" in table
