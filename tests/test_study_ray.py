"""`study run --executor ray` on a real two-node Ray cluster on this machine (tests/ray_support.py; skipped with
the reason where Ray cannot start): a study finishes, and a member whose node is killed mid-training finishes on
the other node with exactly the losses of an uninterrupted local run."""

from __future__ import annotations

import json

import pytest
from executor_support import cli, epochs_done, record, start_cli, step_losses, study_file, wait_for
from ray_support import RayUnavailable, start_ray

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster():
    try:
        cluster = start_ray(nodes=2)
    except RayUnavailable as exc:
        pytest.skip(f"no local Ray cluster: {exc}")
    yield cluster
    cluster.stop()


def test_three_members_finish_on_ray(ray_cluster, tmp_path):
    path, root = study_file(tmp_path, "three"), tmp_path / "runs"
    args = ("--runs-dir", str(root), "--executor", "ray", "--ray-address", ray_cluster.address)
    result = cli("study", "run", str(path), *args, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 3 runs finished" in result.stdout
    status = cli("study", "status", str(path), "--runs-dir", str(root))
    print(status.stdout)
    listed = cli("study", "status", str(path), "--runs-dir", str(root), "--json").stdout
    rows = {r["member"]: r for r in json.loads(listed)["runs"]}
    nodes = {record(root, "three", m)["node_id"] for m in "abc"}
    assert all(rows[m]["state"] == "finished" and rows[m]["where"].startswith("ray on ") for m in "abc")
    assert len(nodes) == 2  # one CPU a node, three members: both nodes trained
    assert not list((root / ".studies" / "three").glob("probe-*"))  # the runs-folder check cleans up


def test_member_on_a_lost_node_finishes_elsewhere_exactly(ray_cluster, tmp_path):
    path, root = study_file(tmp_path, "lost", "ab", epochs=8), tmp_path / "runs"
    reference = cli("study", "run", str(path), "--runs-dir", str(tmp_path / "ref"), "--headless")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    second = ray_cluster.second_node_id()
    args = ("--runs-dir", str(root), "--executor", "ray", "--ray-address", ray_cluster.address, "--headless")
    proc = start_cli("study", "run", str(path), *args, env=ray_cluster.env(), log=tmp_path / "run.log")
    try:

        def on_second():
            for m in "ab":
                try:
                    if record(root, "lost", m).get("node_id") == second and epochs_done(root / f"lost-{m}") >= 2:
                        return m
                except (OSError, ValueError):
                    pass
            return None

        member = wait_for(on_second, 240, "two epochs of the member on the second node")
        ray_cluster.kill_second()
        assert proc.wait(400) == 0, (tmp_path / "run.log").read_text()
    finally:
        proc.kill()
    assert record(root, "lost", member)["node_id"] != second  # the retry ran on the head node
    assert "diffdash resume" in (root / ".studies" / "lost" / f"{member}.log").read_text()
    for m in "ab":
        losses, want = step_losses(root / f"lost-{m}"), step_losses(tmp_path / "ref" / f"lost-{m}")
        assert [s for s, _ in losses] == [s for s, _ in want]
        diff = max(abs(a - b) for (_, a), (_, b) in zip(losses, want, strict=True))
        print(f"lost-{m}: {len(losses)} steps, max |diff| to the uninterrupted run {diff}")
        assert diff == 0.0


def test_a_node_that_cannot_see_the_runs_folder_is_named(ray_cluster, tmp_path):
    """Last in the file: it adds a third node, in a mount namespace where the runs folder's parent is empty."""
    from ray_support import nodes_with

    hidden = tmp_path / "shared"
    hidden.mkdir()
    try:
        ray_cluster.start_blind_node(hidden)
    except RayUnavailable as exc:
        pytest.skip(str(exc))
    wait_for(lambda: nodes_with(ray_cluster.address, "blind"), 90, "the node in its own mount namespace", 1)
    path, root = study_file(tmp_path, "blind", "a"), hidden / "runs"
    result = cli("study", "run", str(path), "--runs-dir", str(root), "--executor", "ray",
                 "--ray-address", ray_cluster.address, timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "is not shared with every Ray node" in errors[0], result.stderr
    assert not root.exists()  # the probe's folders are gone again
