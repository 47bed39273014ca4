"""A class-conditional run through the CLI, as a user drives it: `new --cond class`, its one-row-per-digit previews,
`sample --digit/--guidance` with every sampler, `eval` (accuracy, per-digit FID and confidence, a guidance sweep)
and the bad input each refuses with exit 2 and one line, leaving the run as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fault_support import TINY, copy_run, crashed, invoke

from diffdash.diffusion.samplers import names
from diffdash.runs.history import read_history
from diffdash.store import RunDir

EVAL_N = 20


@pytest.fixture(scope="module")
def cond_root(tmp_path_factory, small_classifier):
    """A runs folder with a finished tiny conditional run "cond" (--eval-every 1) and the classifier cache."""
    _, cache = small_classifier
    root = tmp_path_factory.mktemp("cond-runs")
    args = ("--cond", "class", "--epochs", "1", "--eval-every", "1", "--eval-n", str(EVAL_N), "--name", "cond")
    result = invoke("new", *TINY, *args, runs=root, env={"DIFFDASH_DATA": str(cache)})
    assert result.exit_code == 0, result.output
    RunDir(root / "cond").release_lock()
    (root / "new-output.txt").write_text(result.output)
    return root, cache


@pytest.fixture
def cond_copy(cond_root, tmp_path):
    """A fresh copy of the conditional run (a test may append to it), with the classifier cache."""
    root, cache = cond_root
    copy_run(root / "cond", tmp_path / "runs")
    return tmp_path / "runs", {"DIFFDASH_DATA": str(cache)}


def files_of(run_path):
    return sorted(str(p.relative_to(run_path)) for p in run_path.rglob("*") if p.name != ".lock")


def assert_one_line_refusal(result, needle: str) -> None:
    assert crashed(result) is None, crashed(result)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and needle in errors[0], result.output


def test_config_records_cond_options_only_for_a_conditional_run(cond_root, template_run):
    cond = json.loads((cond_root[0] / "cond" / "config.json").read_text())
    assert (cond["cond"], cond["cond_drop"], cond["guidance"]) == ("class", 0.1, 2.0)
    plain = json.loads((template_run / "config.json").read_text())
    assert plain["cond"] == "none" and "cond_drop" not in plain and "guidance" not in plain


NEW_INPUTS = [
    (["--model", "cold", "--cond", "class"], "--cond class is for DDPM"),
    (["--cond", "class", "--cond-drop", "1"], "cond-drop must lie in [0, 1)"),
    (["--cond", "class", "--guidance", "-1"], "zero or above"),
    (["--cond", "class", "--guidance", "inf"], "finite number"),
    (["--cond", "class", "--cond-drop", "0"], "needs --cond-drop above 0"),
    (["--cond", "label"], "none, class"),
]


@pytest.mark.parametrize("args, needle", NEW_INPUTS, ids=[" ".join(a) for a, _ in NEW_INPUTS])
def test_new_refuses_bad_conditioning_in_one_line_and_makes_no_run(tmp_path, args, needle):
    runs = tmp_path / "runs"
    assert_one_line_refusal(invoke("new", *TINY, *args, runs=runs), needle)
    assert not runs.exists() or list(runs.iterdir()) == []


def test_the_preview_is_the_one_row_per_digit_grid_that_sample_draws(cond_root, tmp_path):
    root, _ = cond_root
    run = RunDir(root / "cond")
    preview = run.samples_dir / "epoch_0001.png"
    from PIL import Image

    pixels = np.asarray(Image.open(preview))
    assert pixels.shape == (10 * 30 + 2, 4 * 30 + 2), "10 rows (digits 0..9) of 4, 28 px digits and 2 px gaps"
    sample_events = [e for e in run.events() if e["event"] == "sample"]
    assert sample_events and sample_events[-1]["guidance"] == 2.0
    config = run.read_config()
    out = tmp_path / "all.png"
    args = ["--digit", "all", "-n", "4", "--seed", str(config["sample_seed"]), "-o", str(out), "--no-show"]
    args += ["--sampler", config["sampler"], "--steps", str(config["sample_steps"])]
    result = invoke("sample", "cond", *args, runs=root)
    assert result.exit_code == 0, result.output
    assert "one row per digit, guidance 2" in result.output
    off = np.abs(np.asarray(Image.open(out)).astype(int) - pixels.astype(int))
    # the same grid; training's network may sit in channels-last memory, so a pixel may round the other way
    assert off.max() <= 1 and (off > 0).mean() < 1e-3, "the preview is what `sample --digit all` draws"


@pytest.mark.parametrize("sampler", names("ddpm"))
def test_every_sampler_draws_a_digit_with_guidance(cond_root, tmp_path, sampler):
    root, _ = cond_root
    outs = {}
    for w in ("0", "3"):
        outs[w] = tmp_path / f"{sampler}-{w}.png"
        args = ["--sampler", sampler, "--steps", "3", "--digit", "7", "--guidance", w, "-n", "4", "-o", str(outs[w])]
        result = invoke("sample", "cond", *args, "--no-show", runs=root)
        assert result.exit_code == 0, result.output
        assert f"digit 7, guidance {w}" in result.output
    assert outs["0"].read_bytes() != outs["3"].read_bytes(), "the guidance scale reaches the sampler"


SAMPLE_INPUTS = [
    (["--digit", "10"], "--digit takes a digit 0..9 or 'all', got 10"),
    (["--digit", "seven"], "--digit takes a digit 0..9 or 'all'"),
    (["--guidance", "-1"], "--guidance must be zero or above"),
    (["--guidance", "nan"], "--guidance must be a finite number"),
    (["--digit", "all", "-n", "1001"], "-n with --digit all is per digit: at most 1000"),
]


@pytest.mark.parametrize("args, needle", SAMPLE_INPUTS, ids=[" ".join(a) for a, _ in SAMPLE_INPUTS])
def test_sample_refuses_bad_class_input_and_writes_nothing(cond_copy, args, needle):
    runs, _ = cond_copy
    before = files_of(runs / "cond")
    assert_one_line_refusal(invoke("sample", "cond", *args, "--no-show", runs=runs), needle)
    assert files_of(runs / "cond") == before


@pytest.mark.parametrize(
    "args",
    [["sample", "base", "--digit", "3"], ["sample", "base", "--guidance", "2"], ["eval", "base", "--guidance", "0,2"]],
)
def test_class_flags_on_an_unconditional_run_are_refused(template_run, tmp_path, args):
    runs = tmp_path / "runs"
    copy_run(template_run, runs)
    before = files_of(runs / "base")
    assert_one_line_refusal(invoke(*args, runs=runs), "needs a class-conditional run (train with --cond class)")
    assert files_of(runs / "base") == before


def test_eval_every_records_accuracy_beside_fid(cond_root):
    (evaluation,) = read_history(RunDir(cond_root[0] / "cond")).evals
    shown = f"accuracy {evaluation['accuracy']:.3f} (the digit asked for, guidance 2)"
    assert shown in (cond_root[0] / "new-output.txt").read_text(), "the headless lines print it under the FID"
    assert evaluation["guidance"] == 2.0 and 0 <= evaluation["accuracy"] <= 1 and evaluation["fid"] > 0
    rows = evaluation["per_digit"]
    assert [r["digit"] for r in rows] == list(range(10)) and sum(r["n"] for r in rows) == EVAL_N
    assert all(r["fid"] is not None and 0 < r["confidence"] <= 1 for r in rows)
    right = sum(r["accuracy"] * r["n"] for r in rows) / EVAL_N
    assert evaluation["accuracy"] == pytest.approx(right, abs=1e-3), "the overall accuracy is the digits' together"


def test_eval_prints_accuracy_and_per_digit_figures_and_appends(cond_copy):
    runs, env = cond_copy
    run = RunDir(runs / "cond")
    result = invoke("eval", "cond", "-n", str(EVAL_N), runs=runs, env=env)
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "guidance 2" in result.output
    assert "digit     n  accuracy      FID  confidence" in result.output
    training, command = read_history(run).evals
    for key in ("fid", "accuracy", "guidance", "histogram"):
        assert command[key] == training[key], f"{key}: same weights, seed and n as the training's evaluation"
    for got, want in zip(command["per_digit"], training["per_digit"], strict=True):
        assert got == {**want, "fid": pytest.approx(want["fid"], rel=1e-5)}  # two samples' FID: last digits vary


def test_guidance_sweep_prints_a_table_and_writes_json_and_png_but_no_event(cond_copy):
    runs, env = cond_copy
    run = RunDir(runs / "cond")
    before = run.metrics_path.read_bytes()
    result = invoke("eval", "cond", "-n", str(EVAL_N), "--guidance", "0,2,8", runs=runs, env=env)
    assert result.exit_code == 0, result.output
    table = [line.split() for line in result.output.splitlines() if line.split()[:1] in (["0"], ["2"], ["8"])]
    assert [row[0] for row in table] == ["0", "2", "8"] and all(len(row) == 5 for row in table), result.output
    assert "best accuracy" in result.output and "lowest FID" in result.output
    assert run.metrics_path.read_bytes() == before, "a sweep is not appended to the run's metrics"
    (json_path,) = (run.path / "eval").glob("guidance-*.json")
    sweep = json.loads(json_path.read_text())["sweep"]
    assert [s["guidance"] for s in sweep] == [0.0, 2.0, 8.0]
    (training,) = read_history(run).evals
    assert sweep[1]["fid"] == training["fid"] and sweep[1]["accuracy"] == training["accuracy"], "w=2 as trained"
    assert len({s["fid"] for s in sweep}) == 3, "each scale draws its own samples"
    (png,) = (run.path / "eval").glob("guidance-*.png")
    from PIL import Image

    assert Image.open(png).size == (800, 450)
    assert json_path.stem == png.stem and json_path.stem.endswith("-w0_2_8"), "the file names say which scales"


def test_a_sweep_over_other_scales_keeps_the_first_and_no_write_writes_nothing(cond_copy):
    runs, env = cond_copy
    run = RunDir(runs / "cond")
    assert invoke("eval", "cond", "-n", str(EVAL_N), "--guidance", "0,2", runs=runs, env=env).exit_code == 0
    first = {p.name: p.read_bytes() for p in (run.path / "eval").iterdir()}
    assert invoke("eval", "cond", "-n", str(EVAL_N), "--guidance", "1,4", runs=runs, env=env).exit_code == 0
    both = {p.name: p.read_bytes() for p in (run.path / "eval").iterdir()}
    assert len(both) == 2 * len(first) and all(both[name] == data for name, data in first.items())
    before = files_of(runs / "cond")
    result = invoke("eval", "cond", "-n", str(EVAL_N), "--guidance", "0,8", "--no-write", runs=runs, env=env)
    assert result.exit_code == 0 and "best accuracy" in result.output and "wrote" not in result.output, result.output
    assert files_of(runs / "cond") == before, "--no-write: the sweep is printed, nothing is written"


@pytest.mark.parametrize(
    "text, needle",
    [("0,x", "takes numbers like 2 or 0,1,2,4,8"), ("1,1", "lists a value twice"), ("2,-1", "zero or above")],
)
def test_a_bad_sweep_is_refused_before_any_work(cond_copy, text, needle):
    runs, env = cond_copy
    before = files_of(runs / "cond")
    assert_one_line_refusal(invoke("eval", "cond", "--guidance", text, runs=runs, env=env), needle)
    assert files_of(runs / "cond") == before


def test_sweep_file_names_read_back_as_the_scales_and_stay_short():
    from diffdash.commands.guidance_sweep import sweep_stem
    from diffdash.options.cond_options import parse_guidance_list

    def events(ws):
        return [{"epoch": 3, "sampler": "ddim", "steps": 50, "n": 100, "seed": 0, "guidance": w} for w in ws]

    assert parse_guidance_list("-0,1") == [0.0, 1.0] and str(parse_guidance_list("-0")[0]) == "0.0"
    assert sweep_stem(events([0.0, 0.5, 2.0])) == "guidance-epoch3-ddim50-n100-seed0-w0_0.5_2"
    assert sweep_stem(events([1.0, 1.0000001])).endswith("-w1_1.0000001"), "two sweeps, two names"
    long = sweep_stem(events([i * 0.1234567 for i in range(40)]))
    assert len(long) < 100 and "-w40scales-" in long
