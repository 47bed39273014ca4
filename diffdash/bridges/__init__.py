"""Bridges out of the run folder into other people's tools (TensorBoard, and through it W&B).

The run folder stays the one source of truth; a bridge only writes copies elsewhere.
"""
