"""The run folder: the one source of truth that training writes and every view reads.

runs/<id>/config.json     the resolved config, parameter count, data used, device, versions
runs/<id>/metrics.jsonl   append-only events, one JSON object per line (their kinds: diffdash.store.events)
runs/<id>/status.json     state, pid, host, heartbeat, summary figures
runs/<id>/samples/        epoch_0001.png ... (4x4 preview grids)
runs/<id>/checkpoints/    last.pt (everything needed to resume)
runs/<id>/.lock           held (flock) by the one process training the run

`run_dir` is the folder itself, `lock` who trains it, `listing` finding runs, `cleanup` tidying after a
kill (and the compaction on resume), `notes` notes, names and the trash. No torch here: listing runs must
stay instant.
"""

from diffdash.store.cleanup import NEW_PREFIX, compact_events, remove_stale_new_folders, remove_stale_temp_files
from diffdash.store.events import drop_undone, well_formed
from diffdash.store.listing import (
    RUNS_ENV,
    RunNotFound,
    check_runs_root,
    list_run_dirs,
    new_run_id,
    resolve_run,
    runs_root,
    sorted_runs,
)
from diffdash.store.lock import LOCK_FILE, RunLocked, _proc_start, pid_alive, process_identity
from diffdash.store.notes import (
    TRASH,
    append_note,
    notes_path,
    read_notes,
    set_display_name,
    trash_dir,
)
from diffdash.store.run_dir import RESUMED_LINE, STALE_HEARTBEAT_S, STATES, DamagedConfig, RunDir

__all__ = [
    "LOCK_FILE",
    "NEW_PREFIX",
    "RESUMED_LINE",
    "RUNS_ENV",
    "STALE_HEARTBEAT_S",
    "STATES",
    "TRASH",
    "DamagedConfig",
    "RunDir",
    "RunLocked",
    "RunNotFound",
    "_proc_start",
    "append_note",
    "check_runs_root",
    "compact_events",
    "drop_undone",
    "list_run_dirs",
    "new_run_id",
    "notes_path",
    "pid_alive",
    "process_identity",
    "read_notes",
    "remove_stale_new_folders",
    "remove_stale_temp_files",
    "resolve_run",
    "runs_root",
    "set_display_name",
    "sorted_runs",
    "trash_dir",
    "well_formed",
]
