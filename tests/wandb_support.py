"""Reading an offline W&B run back: its `.wandb` transaction log, parsed with wandb's own protobuf `Record`.

wandb 0.31 has no Python reader of the log any more (its `datastore` module went with the Go core), so
the framing is read here: W&B's LevelDB-style log, a 7-byte header (":W&B", magic 0xBEE1, version 0),
then 32 KiB blocks of records, each `crc32 (4) | length (2) | type (1)` with FULL/FIRST/MIDDLE/LAST
types and a CRC over the type byte and the data. Every record is checked against its CRC.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

BLOCK, HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def raw_records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:HEADER])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), "not a W&B transaction log"
    pos, parts, out = HEADER, b"", []
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + HEADER : pos + HEADER + length]
        assert zlib.crc32(bytes([kind]) + chunk) & 0xFFFFFFFF == crc, f"bad CRC at byte {pos}"
        pos += HEADER + length
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            parts = chunk
        elif kind == MIDDLE:
            parts += chunk
        elif kind == LAST:
            out.append(parts + chunk)
    return out


def read_offline_run(folder: Path) -> dict[str, Any]:
    """{"config": {key: value}, "history": {step: {key: value}}, "run_id": ...} of one offline-run folder;
    an image's value is its dict (path under files/, width, height, sha256 ...)."""
    from wandb.proto import wandb_internal_pb2 as pb

    [log] = folder.glob("run-*.wandb")
    config: dict[str, Any] = {}
    history: dict[int, dict[str, Any]] = {}
    run_id = None
    for raw in raw_records(log):
        r = pb.Record()
        r.ParseFromString(raw)
        kind = r.WhichOneof("record_type")
        if kind == "run":
            run_id = r.run.run_id
            config.update({i.key: json.loads(i.value_json) for i in r.run.config.update})
        elif kind == "config":
            config.update({i.key: json.loads(i.value_json) for i in r.config.update})
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in r.history.item:
                keys = list(item.nested_key) or [item.key]
                value = json.loads(item.value_json)
                if len(keys) == 1:
                    row[keys[0]] = value
                else:  # an image: its fields arrive one nested key at a time
                    row.setdefault(keys[0], {})[keys[1]] = value
            history.setdefault(r.history.step.num, {}).update(row)
    return {"config": config, "history": history, "run_id": run_id}
