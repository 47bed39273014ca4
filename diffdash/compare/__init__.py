"""Runs side by side: what every comparison shares (`shared`), `compare --plain` (`plain`), groups and
bands, quality curves, and `diffdash report`'s figures (`report/`). Plain Python; kept empty."""
