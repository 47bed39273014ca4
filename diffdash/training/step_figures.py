"""Figures of one optimiser step beside its loss: the learning rate it used and the gradient's total L2 norm.

The norm is taken after backward and before the optimiser step, over every parameter's gradient as the
optimiser will use it (with several workers, after DistributedDataParallel's all-reduce, so every worker
holds the same value). It stays on the device: `StepLosses` reads it with the step's loss, in the same
host sync, so logging it costs one small foreach reduction per step and no extra wait.
"""

from __future__ import annotations

import torch


def total_grad_norm(net: torch.nn.Module) -> torch.Tensor:
    """sqrt(sum of squares) over all gradients, as a 0-d float32 tensor on the parameters' device
    (0 when no parameter has a gradient)."""
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros((), device=next(net.parameters()).device)
    norms = torch._foreach_norm(grads)  # one kernel per dtype and device, not one per tensor
    return torch.linalg.vector_norm(torch.stack([n.float() for n in norms]))


def current_lr(opt: torch.optim.Optimizer) -> float:
    """The learning rate of the optimiser's first parameter group (diffdash uses one group)."""
    return float(opt.param_groups[0]["lr"])
