"""One run trained by several processes with PyTorch's own machinery: torchrun and DistributedDataParallel.

torchrun (`torch.distributed.run`) starts the workers, gives each its rank in environment variables and
restarts the whole group from the last checkpoint when one dies. The modules here are small and apart:
`world` (who am I, which backend, is the request possible), `group` (the process group and its timeout),
`shards` (which rows of each global batch are mine), `reduce` (losses and requests summed or agreed by all
workers), `parallel` (what the training loop asks of them), `controls` (stop and pause agreed at a step),
`control_file` (the launcher's keys reaching rank 0), `launch` (the torchrun command line), `follow` (the
launcher's view of the run folder). One worker's life is `diffdash.training.worker` (above this package:
training uses these, never the other way round); `diffdash.worker` is what torchrun starts.
`world`, `control_file`, `follow` and `launch` import no torch: the launcher and its checks stay light.
"""
