"""GENet-style blocks and backbones (Lin et al., "Neural Architecture Design for GPU-Efficient Networks").

Three block types, each with a residual shortcut (a 1x1 conv when the shape changes):

* ``XX``: two full 3x3 convolutions (ResNet basic block) — dense, high arithmetic intensity;
* ``BL``: bottleneck 1x1 -> 3x3 -> 1x1 with bottleneck ratio 0.25 (ResNet-50 style);
* ``DW``: inverted residual 1x1 expand (x3) -> 3x3 depthwise -> 1x1 project (MobileNetV2 style).

Each conv is followed by batch norm; ReLU after each inner conv and after the addition. The same
architecture code builds a plain float network (``PlainFactory``: what the latency study and
predictor measure) or a Brevitas-quantized one (``QuantFactory``: what ``berth search`` trains with
RandBET), so a searched candidate is the model that is then trained. The residual addition is a
module (``Add``) so forward hooks see it. FLOPs are 2 x multiply-accumulates of convs and linears.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Protocol

import torch
from torch import nn

from berth.core.errors import BerthError, check_choice
from berth.models.registry import register_model

BLOCKS = ("XX", "BL", "DW")
BL_RATIO = 0.25
DW_EXPANSION = 3


class Add(nn.Module):
    """Residual addition as a module (visible to hooks and to the latency table)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Factory(Protocol):
    """Builds the layers of a network (plain float or quantized)."""

    def conv(self, name: str, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Module: ...

    def norm(self, c: int) -> nn.Module: ...

    def relu(self) -> nn.Module: ...

    def linear(self, name: str, fin: int, fout: int) -> nn.Module: ...

    def input_quant(self) -> nn.Module: ...


class PlainFactory:
    """Plain torch layers (float32)."""

    def conv(self, name: str, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Module:
        return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)

    def norm(self, c: int) -> nn.Module:
        return nn.BatchNorm2d(c)

    def input_quant(self) -> nn.Module:
        return nn.Identity()

    def relu(self) -> nn.Module:
        return nn.ReLU()

    def linear(self, name: str, fin: int, fout: int) -> nn.Module:
        return nn.Linear(fin, fout)


class QuantFactory:
    """Brevitas layers quantized with berth's schemes (``berth.models.layers.QuantSpec``)."""

    def __init__(self, spec):
        self.spec = spec

    def conv(self, name: str, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Module:
        return self.spec.conv(name, cin, cout, k, stride=stride, padding=k // 2, groups=groups)

    def input_quant(self) -> nn.Module:
        return self.spec.input_quant()

    def norm(self, c: int) -> nn.Module:
        from berth.models.layers import ReparamBatchNorm2d

        return ReparamBatchNorm2d(c)

    def relu(self) -> nn.Module:
        return self.spec.relu()

    def linear(self, name: str, fin: int, fout: int) -> nn.Module:
        return self.spec.linear(name, fin, fout)


class Block(nn.Module):
    """One GENet-style block of type ``kind`` (XX, BL or DW)."""

    def __init__(self, f: Factory, prefix: str, kind: str, cin: int, cout: int, stride: int):
        super().__init__()
        check_choice("block type", kind, BLOCKS)
        layers: list[nn.Module] = []
        if kind == "XX":
            plan = [(cin, cout, 3, stride, 1), (cout, cout, 3, 1, 1)]
        elif kind == "BL":
            mid = max(1, round(cout * BL_RATIO))
            plan = [(cin, mid, 1, 1, 1), (mid, mid, 3, stride, 1), (mid, cout, 1, 1, 1)]
        else:
            mid = cin * DW_EXPANSION
            plan = [(cin, mid, 1, 1, 1), (mid, mid, 3, stride, mid), (mid, cout, 1, 1, 1)]
        for i, (a, b, k, s, g) in enumerate(plan):
            layers += [f.conv(f"{prefix}.body.{len(layers)}", a, b, k, s, g), f.norm(b)]
            if i < len(plan) - 1:
                layers.append(f.relu())
        self.body = nn.Sequential(*layers)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(f.conv(f"{prefix}.shortcut.0", cin, cout, 1, stride), f.norm(cout))
        self.add = Add()
        self.act = f.relu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.add(self.body(x), self.shortcut(x)))


@dataclass(frozen=True)
class Stage:
    """``depth`` blocks of type ``block`` and width ``width``; the first has stride ``stride``."""

    block: str
    width: int
    depth: int
    stride: int


@dataclass(frozen=True)
class GenetArch:
    """A GENet-style backbone: a 3x3 stem, stages, global average pool and a linear classifier."""

    stem: int
    stages: tuple[Stage, ...]
    in_channels: int = 1
    input_size: int = 8
    num_classes: int = 10

    def label(self) -> str:
        return f"stem{self.stem}-" + "-".join(f"{s.block}{s.width}x{s.depth}" for s in self.stages)

    def as_dict(self) -> dict:
        return {**asdict(self), "stages": [asdict(s) for s in self.stages]}

    @classmethod
    def from_dict(cls, data: dict) -> "GenetArch":
        return cls(**{**data, "stages": tuple(Stage(**s) for s in data["stages"])})


class GenetNet(nn.Module):
    """The network of a ``GenetArch`` built with a layer factory."""

    def __init__(self, arch: GenetArch, f: Factory, head: str = "avg", input_quant: nn.Module | None = None):
        super().__init__()
        check_choice("head", head, ("avg", "max"))
        self.input_quant = input_quant
        self.stem = nn.Sequential(f.conv("stem.0", arch.in_channels, arch.stem, 3), f.norm(arch.stem), f.relu())
        blocks, cin = [], arch.stem
        for stage in arch.stages:
            for d in range(stage.depth):
                blocks.append(Block(f, f"blocks.{len(blocks)}", stage.block, cin, stage.width,
                                    stage.stride if d == 0 else 1))
                cin = stage.width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1) if head == "avg" else nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = f.linear("fc", cin, arch.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_quant is not None:
            x = self.input_quant(x)
        return self.fc(self.flatten(self.pool(self.blocks(self.stem(x)))))


def plain_model(arch: GenetArch, seed: int = 0) -> nn.Module:
    """The float network of ``arch`` in eval mode (weights drawn with ``seed``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GenetNet(arch, PlainFactory()).eval()


DEFAULT_STAGES = ({"block": "XX", "width": 8, "depth": 1, "stride": 1},
                  {"block": "BL", "width": 16, "depth": 1, "stride": 2},
                  {"block": "DW", "width": 24, "depth": 1, "stride": 2})


@register_model("genet")
def genet(spec, in_channels: int, input_size: int, num_classes: int, stem: int = 8,
          stages: tuple = DEFAULT_STAGES, head: str = "avg") -> nn.Module:
    """The Brevitas-quantized GENet-style network with ``stem`` channels and ``stages`` (each a
    Stage or its dict: block, width, depth, stride); what ``berth search`` trains and exports.
    ``head="max"`` pools by maximum (hls4ml's global average pool is silently wrong); a hardware
    build (``spec.hw``) starts with the fixed-point input quantizer."""
    arch = GenetArch(stem, tuple(s if isinstance(s, Stage) else Stage(**dict(s)) for s in stages),
                     in_channels, input_size, num_classes)
    return GenetNet(arch, QuantFactory(spec), head, spec.input_quant() if spec.hw else None)


def quant_model(arch: GenetArch, scheme: str = "rquant", bits: int = 8, w_max: float | None = None,
                act_bits: int | None = None, seed: int = 0) -> nn.Module:
    """The Brevitas-quantized network of ``arch`` (berth scheme ``scheme`` at ``bits`` bits),
    built through the registry so its model file rebuilds it like any other model."""
    from berth.models.registry import create_model

    return create_model("genet", scheme=scheme, bits=bits, w_max=w_max, act_bits=act_bits, seed=seed,
                        **arch_options(arch))


def arch_options(arch: GenetArch) -> dict:
    """``create_model`` keywords of ``arch``."""
    d = arch.as_dict()
    return {**d, "stages": [dict(s) for s in d["stages"]]}


def flops(model: nn.Module, shape: tuple[int, int, int]) -> int:
    """2 x multiply-accumulates of every conv and linear layer for one input of ``shape``."""
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += 2 * output.numel() * k * module.in_channels // module.groups
        elif isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape))
    finally:
        for h in handles:
            h.remove()
    return total


def random_arch(rng: random.Random, input_size: int = 8, in_channels: int = 1, num_classes: int = 10,
                widths: tuple[int, ...] = (8, 16, 24, 32, 48, 64), max_depth: int = 2,
                stage_strides: tuple[int, ...] = (1, 2, 2), blocks: tuple[str, ...] = BLOCKS) -> GenetArch:
    """A random GENet-style candidate: block type (one of ``blocks``), width and depth per stage
    (widths non-decreasing)."""
    if input_size < 2 ** sum(s == 2 for s in stage_strides):
        raise BerthError(f"input_size = {input_size} is too small for stage strides {stage_strides}")
    stages, floor = [], 0
    for stride in stage_strides:
        width = rng.choice([w for w in widths if w >= floor] or [max(widths)])
        stages.append(Stage(rng.choice(blocks), width, rng.randint(1, max_depth), stride))
        floor = width
    return GenetArch(rng.choice(widths[:3]), tuple(stages), in_channels, input_size, num_classes)
