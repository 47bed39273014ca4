"""Studies: several runs described in one TOML file and trained, resumed, listed and reported as one.

A study's runs are ordinary run folders (`<study>-<member>` under the runs folder), each created and trained
by its own headless `diffdash new` / `diffdash resume` process; each folder's `study.json` records which
study it belongs to and the options it was started with. The run folders stay the one source of truth:
nothing here keeps a queue or a database of its own, so killing the runner and starting it again just
reads the folders and carries on. No torch and no textual at import.
"""

from diffdash.study.spec import Member, Study, StudyError, load_study

__all__ = ["Member", "Study", "StudyError", "load_study"]
