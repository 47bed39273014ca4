"""The system line's figures: one process, or a process and its descendants summed (torchrun's workers)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from diffdash.machine.usage import ProcessMeter, process_tree

# a parent that starts two children; each child holds ~60 MB and burns CPU until killed
FAMILY = """
import subprocess, sys, time
child = "x = bytearray(60 * 2**20)\\nwhile True: sum(range(10000))"
kids = [subprocess.Popen([sys.executable, "-c", child]) for _ in range(2)]
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def family():
    parent = subprocess.Popen([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(process_tree(parent.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield parent
    finally:
        kids = process_tree(parent.pid)[1:]
        parent.kill()
        parent.wait()
        for pid in kids:
            subprocess.run(["kill", "-9", str(pid)], check=False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_tree_sums_the_children_the_single_reading_leaves_out(family):
    assert len(process_tree(family.pid)) == 3
    single, tree = ProcessMeter(), ProcessMeter()
    single.read(family.pid), tree.read(family.pid, tree=True)
    time.sleep(1.2)
    one, all_ = single.read(family.pid), tree.read(family.pid, tree=True)
    assert "processes" not in one and all_["processes"] == 3
    assert all_["rss_bytes"] > one["rss_bytes"] + 2 * 60 * 2**20
    assert one["cpu_percent"] < 20  # the parent sleeps
    assert all_["cpu_percent"] > 40  # two children busy on a shared 2-core machine


def test_a_process_that_is_gone_reads_as_nothing():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert ProcessMeter().read(proc.pid, tree=True) == {}
    assert ProcessMeter().read(None) == {}
