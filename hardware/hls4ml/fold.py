"""Fold batch norms into the convolution before them, so hardware sees one conv with a bias.

hls4ml has no exact batch-norm path for our models, and the fold is what an accelerator stores
anyway. For ``y = bn(conv(x) + b)`` with scale ``g`` (``1 + weight`` for ReparamBatchNorm2d, the
plain ``weight`` for nn.BatchNorm2d): ``k = g / sqrt(var + eps)``, ``W' = W * k``,
``b' = (b - mean) * k + beta``; the norm becomes ``nn.Identity``. The folded weights are then
quantized by the conv's own scheme: the hardware codes are the codes of the folded weights, and
the software model berth compares with is this folded model.

Pairs found: attributes ``convN``/``bnN`` of one module, and a conv directly followed by a norm
inside an ``nn.Sequential`` (ResNet shortcuts). The fold is deterministic (float64 arithmetic,
rounded once to float32), so rebuilding a project's model and folding again gives the same codes.
"""

from __future__ import annotations

import re

import torch
from brevitas.nn import QuantConv2d
from torch import nn

from berth.core.errors import BerthError
from berth.models.layers import ReparamBatchNorm2d

NORMS = (nn.BatchNorm2d,)


def norm_scale(bn: nn.BatchNorm2d) -> torch.Tensor:
    """The multiplicative scale the norm applies (``1 + weight`` for the re-parameterized form)."""
    weight = bn.weight.detach().double() if bn.affine else torch.ones(bn.num_features, dtype=torch.float64)
    return 1.0 + weight if isinstance(bn, ReparamBatchNorm2d) else weight


def fold_pair(conv: nn.Module, bn: nn.BatchNorm2d, name: str) -> None:
    """Fold ``bn`` into ``conv`` in place (``conv`` must have a bias parameter)."""
    if conv.bias is None:
        raise BerthError(f"layer {name!r}: convolution has no bias to fold its batch norm into "
                         "(build the model with hw = true)")
    with torch.no_grad():
        k = norm_scale(bn) / torch.sqrt(bn.running_var.double() + bn.eps)
        beta = bn.bias.detach().double() if bn.affine else torch.zeros_like(k)
        w = conv.weight.double() * k.view(-1, *([1] * (conv.weight.dim() - 1)))
        b = (conv.bias.double() - bn.running_mean.double()) * k + beta
        conv.weight.copy_(w.to(conv.weight.dtype))
        conv.bias.copy_(b.to(conv.bias.dtype))


def conv_norm_pairs(model: nn.Module) -> list[tuple[nn.Module, str, str, str]]:
    """(parent, conv attribute, norm attribute, qualified conv name) for every foldable pair."""
    pairs = []
    for prefix, parent in model.named_modules():
        children = dict(parent.named_children())
        names = list(children)
        for i, cname in enumerate(names):
            if not isinstance(children[cname], QuantConv2d):
                continue
            partner = None
            match = re.fullmatch(r"conv(\d*)", cname)
            if match and isinstance(children.get(f"bn{match.group(1)}"), NORMS):
                partner = f"bn{match.group(1)}"
            elif isinstance(parent, nn.Sequential) and i + 1 < len(names) and isinstance(children[names[i + 1]], NORMS):
                partner = names[i + 1]
            if partner is not None:
                pairs.append((parent, cname, partner, f"{prefix}.{cname}" if prefix else cname))
    return pairs


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every conv→batch-norm pair of ``model`` in place (eval statistics); returns ``model``."""
    model.eval()
    for parent, cname, bname, qualified in conv_norm_pairs(model):
        fold_pair(getattr(parent, cname), getattr(parent, bname), qualified)
        setattr(parent, bname, nn.Identity())
    return model
