"""File writes that are never seen half-done: write a temporary file beside the target, then rename.

Only a regular file (or nothing) is ever replaced so: a folder, device, FIFO or socket at the target, or a
symlink to one, is refused (`NotRegularFile`); `check_output_path` says so before a command does any work.

The temporary file is made by mkstemp (mode 0600); before the rename it gets the mode any other program's
new file would get (0666 less the umask), so a teammate can read a shared runs folder.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (Linux), else by setting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    return 0o666 & ~current_umask()


class NotRegularFile(OSError):
    """An output path that names a folder, device, FIFO or socket (or a symlink to one): replacing it by rename
    would put a file where a device node was (as root, `-o /dev/full`) or block forever on a FIFO."""

    def __init__(self, filename: str | Path, kind: str):
        super().__init__(errno.EEXIST, f"is a {kind}", str(filename))
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.filename} is not a regular file (it is a {self.kind}): choose another path"


def file_kind(path: str | Path) -> str | None:
    """What `path` names, symlinks followed: None when nothing (or a dangling link), else 'file', 'folder',
    'device', 'FIFO' or 'socket'."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def check_replaceable(path: str | Path) -> None:
    """NotRegularFile unless `path` is absent or a regular file: the one check before any output is written."""
    kind = file_kind(path)
    if kind not in (None, "file"):
        raise NotRegularFile(path, kind)


def check_output_path(path: str | Path, folder: bool = False) -> None:
    """Before any work: `path` can be written as a new or replaced file (`folder`: as a folder). NotRegularFile
    for something that is not one, else the OSError of making an entry where it would go (a read-only or
    pseudo filesystem such as /proc, a missing permission, a file on the way)."""
    path = Path(path)
    kind = file_kind(path)
    if kind not in (None, "folder" if folder else "file"):
        raise NotRegularFile(path, kind)
    where = path if kind == "folder" else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{where} is a file, not a folder", str(where))
    os.rmdir(tempfile.mkdtemp(prefix=".diffdash-probe-", dir=where))


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    path = Path(path)
    check_replaceable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFull(path) from exc
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), new_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc) and not isinstance(exc, DiskFull):
            raise DiskFull(path) from exc
        raise


def atomic_write_json(path: str | Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class DiskFull(OSError):
    """No space left (ENOSPC or a quota) while writing `filename`: one clear line instead of a chain of errors."""

    def __init__(self, filename: str | Path):
        super().__init__(errno.ENOSPC, "disk full", str(filename))

    def __str__(self) -> str:
        return f"disk full while writing {self.filename}"


def is_disk_full(exc: BaseException | None) -> bool:
    """True for ENOSPC/EDQUOT, also when wrapped (the cause or context of another error, e.g. torch's)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False
