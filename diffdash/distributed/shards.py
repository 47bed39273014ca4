"""Which rows of each global batch a worker trains on, so that the split changes nothing but speed.

`--batch-size` is the global batch. Every worker draws the same epoch permutation (and the same timesteps and
noise for the whole global batch) from the run's generator, then keeps its contiguous share of the rows:
the shards of all workers together are exactly the 1-process batch. Shares differ by at most one row; a
worker's mean loss is weighted by its share so that DistributedDataParallel's gradient mean equals the
gradient of the global batch's mean loss (with equal shares the weight is exactly 1).
"""

from __future__ import annotations


def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """[start, stop) of `rank`'s rows among `n`; the first n % world ranks get one row more."""
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is outside a world of {world}")
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def shard_rows(n: int, rank: int, world: int) -> slice:
    return slice(*shard_bounds(n, rank, world))


def loss_weight(rows: int, n: int, world: int) -> float:
    """Scale of a worker's mean loss before backward: DDP averages gradients over `world` workers, so
    sum_r (rows_r * world / n) * grad(mean_r) / world = grad(global mean)."""
    return rows * world / n


def train_rows(n: int, rank: int, world: int) -> tuple[slice, int, float]:
    """(rows to run the network on, rows that count, loss weight) for one step of a global batch of `n`.

    A worker whose share is empty (a last batch smaller than the world) still runs forward and backward on
    one row with weight 0: DistributedDataParallel needs every worker in every gradient all-reduce.
    """
    start, stop = shard_bounds(n, rank, world)
    if stop == start:
        return slice(0, 1), 0, 0.0
    return slice(start, stop), stop - start, loss_weight(stop - start, n, world)
