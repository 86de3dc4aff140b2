"""A torchrun worker for tests/training/test_distributed.py: one step of the distributed loop's gradient
computation (sharded global batch, scaled loss, GlobalBatchNorm2d, DDP) on a fixed batch; rank 0 saves
the gradients and batch-norm buffers to ``argv[1]``."""
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from interp_core.models import build_model
from interp_core.training.global_batchnorm import convert_batchnorm
from interp_core.training.engine import classification_loss

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = build_model("cnn", in_channels=1, num_classes=10, first_stride=1)
convert_batchnorm(model, dist.new_group()).train()
ddp = nn.parallel.DistributedDataParallel(model)
batch = 7  # uneven: 4 + 3 samples on two ranks
x = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(1))
y = torch.arange(batch) % 10
mine = np.arange(batch)[rank::world]
loss = classification_loss(ddp(x[mine]), y[mine], "ce") * (len(mine) * world / batch)
loss.backward()
if rank == 0:
    out = {f"grad.{k}": p.grad for k, p in model.named_parameters()}
    out.update({f"buffer.{k}": b for k, b in model.named_buffers()})
    torch.save(out, sys.argv[1])
dist.destroy_process_group()
