"""A cheap look at a run's checkpoint for `runs`: is it the zip archive torch.save writes, whole?

`sample`, `eval` and `resume` load the checkpoint with torch (weights only) and refuse one that is empty, cut
short, random bytes or a plain pickle; the listing must not call such a run "finished". Loading every run's
checkpoint would make `runs` slow and import torch, so this reads only the first bytes and the zip's end
record (at most 64 KiB from the end), which every torch.save file has and no cut-off or foreign file does.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

ZIP_HEADER = b"PK\x03\x04"
END_RECORD = b"PK\x05\x06"
END_RECORD_SIZE = 22
MAX_COMMENT = 0xFFFF


def checkpoint_problem(path: str | Path) -> str | None:
    """Why the checkpoint at `path` cannot be loaded, or None (also None when there is none)."""
    path = Path(path)
    name = f"{path.parent.name}/{path.name}"
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return f"{name} is empty"
            if f.read(4) != ZIP_HEADER:
                return f"{name} is not a torch checkpoint (no zip header)"
            tail_size = min(size, END_RECORD_SIZE + MAX_COMMENT)
            f.seek(size - tail_size)
            tail = f.read(tail_size)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{name} is unreadable ({exc.strerror or exc})"
    at = tail.rfind(END_RECORD)
    if at < 0 or at + END_RECORD_SIZE > len(tail):
        return f"{name} is cut short (its zip directory is missing)"
    directory_size, directory_offset = struct.unpack("<II", tail[at + 12 : at + 20])
    if directory_offset == 0xFFFFFFFF:
        return None  # zip64 (a checkpoint over 4 GB): its sizes live in another record
    if directory_offset + directory_size > size - (len(tail) - at):
        return f"{name} is cut short (its zip directory points past its end)"
    return None
