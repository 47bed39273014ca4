"""`diffdash report`: PNG figures like the coursework's, a metrics CSV and an index.md, from run folders.

matplotlib is an optional extra (`pip install 'diffdash[report]'`); nothing here imports it at module level.
"""

from __future__ import annotations

MISSING_MATPLOTLIB = (
    "diffdash report draws its figures with matplotlib, which is not installed: "
    "pip install 'diffdash[report]' (or pip install matplotlib)"
)


class MatplotlibMissing(RuntimeError):
    pass


def require_matplotlib():
    """The pyplot module on the non-interactive Agg backend, or MatplotlibMissing with the install hint."""
    try:
        import matplotlib
    except ImportError:
        raise MatplotlibMissing(MISSING_MATPLOTLIB) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
