"""control.json is read only when it is a small regular file: a symlink to /dev/zero, a FIFO or a huge file
is ignored with a warning, promptly, and the launcher's next write replaces it."""

from __future__ import annotations

import os
import threading

import pytest

from diffdash.controls import Controls
from diffdash.distributed.control_file import (
    MAX_CONTROL_BYTES,
    ControlReader,
    ControlState,
    control_path,
    read_control,
    write_control,
)


def read_within(run_path, seconds: float = 5.0) -> tuple[ControlState, list[str]]:
    """read_control in a thread, so a read that blocks (a FIFO) fails the test instead of hanging it."""
    warnings: list[str] = []
    result: list[ControlState] = []
    reader = threading.Thread(target=lambda: result.append(read_control(run_path, warnings.append)), daemon=True)
    reader.start()
    reader.join(seconds)
    assert result, f"reading {control_path(run_path)} blocked"
    return result[0], warnings


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge", "symlink-to-stop"])
def test_only_a_small_regular_file_is_read(tmp_path, kind):
    path = control_path(tmp_path)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "huge":
        path.write_text('{"stop": true, "pad": "' + "x" * MAX_CONTROL_BYTES + '"}')
    else:  # even a symlink to a valid request: the launcher writes a plain file, nothing else is its
        (tmp_path / "elsewhere.json").write_text('{"stop": true}')
        path.symlink_to(tmp_path / "elsewhere.json")
    state, warnings = read_within(tmp_path)
    assert state == ControlState(), "nothing in it is taken as a request"
    assert len(warnings) == 1 and "control.json" in warnings[0] and "ignored" in warnings[0]


def test_a_stop_is_still_read_and_the_launcher_replaces_a_squatter(tmp_path):
    os.mkfifo(control_path(tmp_path))
    controls = Controls()
    reader = ControlReader(tmp_path, every_s=0, warn=lambda _m: None)
    reader.poll(controls)
    assert not controls.stop.is_set()
    write_control(tmp_path, ControlState(stop=True))  # the launcher's next write: a regular file again
    reader.poll(controls)
    assert controls.stop.is_set()
    assert read_within(tmp_path)[0].stop
