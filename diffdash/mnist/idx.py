"""Read and write the official MNIST idx format (optionally gzipped) with numpy only."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


class IdxError(ValueError):
    """An idx file that cannot be read: the message names the file and what is wrong with it."""


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array stored in an idx file (``.gz`` or plain); IdxError for a damaged one."""
    path = Path(path)
    try:
        with _open(path) as f:
            data = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise IdxError(f"{path} is not a readable gzip file ({exc or 'it is cut short'})") from None
    except OSError as exc:
        raise IdxError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise IdxError(f"{path} is not an idx file (its first bytes are not an idx magic number)")
    ndim = data[3]
    if ndim == 0 or len(data) < 4 + 4 * ndim:
        raise IdxError(f"{path} has a short idx header ({len(data)} bytes for {ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = np.dtype(_DTYPES[data[2]])
    body = len(data) - 4 - 4 * ndim
    expected = int(np.prod(shape, dtype=np.int64))
    if body != expected * dtype.itemsize:
        raise IdxError(
            f"{path} is truncated or padded: its header says {expected} values, it holds {body // dtype.itemsize}"
        )
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)


def write_idx_gz(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped idx file (deterministic bytes: mtime 0)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(header + array.tobytes())
