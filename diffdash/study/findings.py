"""A study's findings: one row of measured figures per run, and a sentence for every pair of runs that differ
in one option of the study file, saying what was measured (never what it should mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from diffdash.formats import format_at, format_loss, format_seconds
from diffdash.runs.history import History, read_history
from diffdash.store import RunDir
from diffdash.study.spec import Member, Study
from diffdash.study.status import Row, StudyProgress

# options whose change changes what the validation loss measures: values on either side are not comparable
LOSS_KINDS = ("model", "loss")
NOT_OPTIONS = ("epochs",)  # a run stopped short is the same experiment


@dataclass
class Finding:
    member: Member
    run: RunDir
    row: Row
    history: History
    confidence: float | None = None
    fid_n: int | None = None

    @property
    def name(self) -> str:
        return self.member.name


def collect(study: Study, root: Path, members: list[Member] | None = None) -> list[Finding]:
    """Findings of the members whose run folders exist."""
    members = [m for m in (members or study.members) if (Path(root) / m.run_id).is_dir()]
    rows = StudyProgress(study, root, members).poll()
    out = []
    for m, row in zip(members, rows, strict=True):
        run = RunDir(Path(root) / m.run_id)
        h = read_history(run)
        f = Finding(m, run, row, h)
        evals = [e for e in h.evals if isinstance(e.get("fid"), (int, float))]
        if evals:
            f.confidence, f.fid_n = evals[-1].get("confidence"), evals[-1].get("n")
        out.append(f)
    return out


def setting(member: Member) -> str:
    """The options the file gives this run beyond the shared defaults, e.g. 'model=ddpm n_hidden=16,32,32,16'."""
    own = [k for k in member.options if not member.origin.get(k, "").startswith("defaults.")]
    return " ".join(f"{k}={_show(member.options[k])}" for k in own) or "(the defaults)"


def _show(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list) else str(v)


TABLE_HEAD = (
    "| run | setting | epochs | best val @ epoch | final val | FID (MNIST classifier) @ epoch (n) "
    "| digits covered | mean confidence | time (training, validation, previews, FID) |"
)


def table_markdown(findings: list[Finding]) -> str:
    lines = [TABLE_HEAD, "|---" * 9 + "|"]
    for f in findings:
        r = f.row
        best = format_at(r.best_val, r.best_epoch, at=" @ ")
        fid = f"{r.fid:.2f} @ {r.fid_epoch} (n={f.fid_n})" if r.fid is not None else "-"
        digits = f"{r.digits}/10" if r.digits is not None else "-"
        conf = f"{f.confidence:.3f}" if isinstance(f.confidence, (int, float)) else "-"
        epochs = f"{r.epoch}/{r.epochs}" + ("" if r.state == "finished" else f" ({r.state})")
        lines.append(
            f"| {f.name} | {setting(f.member)} | {epochs} | {best} | {format_loss(r.last_val)} | {fid} "
            f"| {digits} | {conf} | {format_seconds(r.seconds, '?')} |"
        )
    return "\n".join(lines)


def one_option_pairs(findings: list[Finding]) -> list[tuple[Finding, Finding, str]]:
    """Every pair of runs whose file options differ in exactly one key (epochs aside)."""
    out = []
    for a, b in combinations(findings, 2):
        oa = {k: v for k, v in a.member.options.items() if k not in NOT_OPTIONS}
        ob = {k: v for k, v in b.member.options.items() if k not in NOT_OPTIONS}
        keys = [k for k in dict.fromkeys([*oa, *ob]) if oa.get(k) != ob.get(k)]
        if len(keys) == 1:
            out.append((a, b, keys[0]))
    return out


def sentence(a: Finding, b: Finding, key: str) -> str:
    """What was measured for two runs that differ only in `key`."""
    va, vb = a.member.options.get(key, "default"), b.member.options.get(key, "default")
    text = f"**{a.name}** and **{b.name}** differ only in {key} ({_show(va)} vs {_show(vb)}). "
    if key in LOSS_KINDS:
        text += "Their validation losses measure different things, so they are not compared. "
    else:
        text += _val_text(a, b)
    return text + _fid_text(a, b)


def _val_text(a: Finding, b: Finding) -> str:
    av = dict(zip(a.history.epoch, a.history.val_loss, strict=False))
    bv = dict(zip(b.history.epoch, b.history.val_loss, strict=False))
    common = sorted(e for e in av if e in bv and av[e] is not None and bv[e] is not None)
    if not common:
        return "They have no epoch in common with a validation loss. "
    a_lower = sum(av[e] < bv[e] for e in common)
    b_lower = sum(bv[e] < av[e] for e in common)
    last = common[-1]
    (lo_name, lo), (_, hi) = sorted([(a.name, av[last]), (b.name, bv[last])], key=lambda p: p[1])
    return (
        f"Validation loss is lower for {a.name} at {a_lower} and for {b.name} at {b_lower} of the {len(common)} "
        f"epochs both reached; at epoch {last} it is lower for {lo_name} ({lo:.5f} against {hi:.5f}). "
    )


def _fid_text(a: Finding, b: Finding) -> str:
    fa, fb = a.row, b.row
    if fa.fid is None or fb.fid is None:
        return "FID (MNIST classifier) was not measured for both."
    (lo_name, lo), (_, hi) = sorted([(a.name, fa.fid), (b.name, fb.fid)], key=lambda p: p[1])
    text = f"FID (MNIST classifier) is lower for {lo_name} ({lo:.2f} against {hi:.2f}"
    if fa.fid_epoch == fb.fid_epoch and a.fid_n == b.fid_n:
        return text + f", both at epoch {fa.fid_epoch} from {a.fid_n} samples)."
    return (
        text + f"; measured at epochs {fa.fid_epoch} and {fb.fid_epoch} from {a.fid_n} and {b.fid_n} samples, "
        "so not like for like)."
    )


def sentences(findings: list[Finding]) -> list[str]:
    return [sentence(a, b, key) for a, b, key in one_option_pairs(findings)]
