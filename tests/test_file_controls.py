"""A lone headless run obeys a stop written to its control file after it started (how a search stops a pruned
trial), not one an earlier launch left behind."""

from __future__ import annotations

import os

from diffdash.distributed.control_file import ControlState, FileControls, write_control


def test_a_stop_written_after_the_start_stops_and_an_old_one_does_not(tmp_path):
    write_control(tmp_path, ControlState(stop=True))  # left by an earlier launch
    controls = FileControls(tmp_path, every_s=0.0)
    controls.sync()
    assert not controls.stop.is_set()
    write_control(tmp_path, ControlState(paused=True))
    os.utime(tmp_path / "control.json", ns=(1, 1))  # a new stamp even within the clock's resolution
    controls.sync()
    assert not controls.stop.is_set() and not controls.paused.is_set()  # only stop is read from the file
    write_control(tmp_path, ControlState(stop=True))
    controls.sync()
    assert controls.stop.is_set()
    write_control(tmp_path, ControlState(stop=False, sample=3))
    os.utime(tmp_path / "control.json", ns=(2, 2))
    controls.sync()
    assert controls.stop.is_set()  # the file never takes back a stop


def test_no_control_file_is_no_request(tmp_path):
    controls = FileControls(tmp_path, every_s=0.0)
    controls.sync(force=True)
    assert not controls.stop.is_set()
