"""Training a run: `Engine` sets up and runs the loop (loop.py) over a `TrainingState` (state.py), with a
`Recorder` (recorder.py) as the one writer of the run folder and `Previews` (previews.py) for sampling."""

from diffdash.training.engine import Engine

__all__ = ["Engine"]
