"""The networks of the zoo, each built from a QuantSpec so every layer has its scheme.

Inputs are NCHW float tensors of shape (in_channels, input_size, input_size). Every model starts
with ``input_quant`` (the identity unless built for hardware, see QuantSpec.hw).
"""

from __future__ import annotations

from torch import nn

from berth.models.layers import QuantSpec, ReparamBatchNorm2d, ReparamGroupNorm
from berth.models.registry import register_model


@register_model("mlp")
class MLP(nn.Module):
    """Fully connected network: flatten, hidden layers with ReLU, classifier (fc1..fcN)."""

    def __init__(self, spec: QuantSpec, in_channels: int, input_size: int, num_classes: int,
                 hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.input_quant = spec.input_quant()
        sizes = [in_channels * input_size * input_size, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            layers += [spec.linear(f"body.{len(layers)}", a, b), spec.relu()]
        layers.append(spec.linear(f"body.{len(layers)}", sizes[-1], num_classes))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(self.input_quant(x))


@register_model("lenet")
class LeNet(nn.Module):
    """LeNet-style CNN: two (conv3x3, ReLU, max-pool 2) stages, then two fully connected layers."""

    def __init__(self, spec: QuantSpec, in_channels: int, input_size: int, num_classes: int,
                 channels: tuple[int, int] = (16, 32), hidden: int = 128):
        super().__init__()
        c1, c2 = channels
        self.input_quant = spec.input_quant()
        self.conv1 = spec.conv("conv1", in_channels, c1, 3, padding=1, bias=True)
        self.conv2 = spec.conv("conv2", c1, c2, 3, padding=1, bias=True)
        self.act1, self.act2, self.act3 = spec.relu(), spec.relu(), spec.relu()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        side = input_size // 4
        self.fc1 = spec.linear("fc1", c2 * side * side, hidden)
        self.fc2 = spec.linear("fc2", hidden, num_classes)

    def forward(self, x):
        x = self.pool(self.act1(self.conv1(self.input_quant(x))))
        x = self.pool(self.act2(self.conv2(x)))
        return self.fc2(self.act3(self.fc1(self.flatten(x))))


@register_model("simplenet")
class SimpleNet(nn.Module):
    """SimpleNet-style CNN: stages of two (conv3x3, group norm, ReLU), max-pool between, avg-pool head."""

    def __init__(self, spec: QuantSpec, in_channels: int, input_size: int, num_classes: int,
                 widths: tuple[int, ...] = (32, 64, 128), groups: int = 8):
        super().__init__()
        self.input_quant = spec.input_quant()
        layers: list[nn.Module] = []
        cin = in_channels
        for s, width in enumerate(widths):
            for j in range(2):
                layers += [spec.conv(f"features.{len(layers)}", cin, width, 3, padding=1),
                           ReparamGroupNorm(min(groups, width), width), spec.relu()]
                cin = width
            if s < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = spec.linear("fc", cin, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.features(self.input_quant(x)))))


class BasicBlock(nn.Module):
    """ResNet basic block with a 1x1-conv projection shortcut where the shape changes."""

    def __init__(self, spec: QuantSpec, prefix: str, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = spec.conv(f"{prefix}.conv1", cin, cout, 3, stride=stride, padding=1)
        self.bn1 = ReparamBatchNorm2d(cout)
        self.act1 = spec.relu()
        self.conv2 = spec.conv(f"{prefix}.conv2", cout, cout, 3, padding=1)
        self.bn2 = ReparamBatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(spec.conv(f"{prefix}.shortcut.0", cin, cout, 1, stride=stride),
                                          ReparamBatchNorm2d(cout))
        self.act2 = spec.relu()

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


@register_model("resnet20")
class ResNet20(nn.Module):
    """ResNet-20 for 32x32 inputs (3 stages x 3 basic blocks, widths w, 2w, 4w).

    ``head="avg"`` is the usual global average pool; ``"max"`` uses a global max pool, which
    hls4ml converts exactly (its GlobalAveragePool is silently wrong).
    """

    def __init__(self, spec: QuantSpec, in_channels: int, input_size: int, num_classes: int,
                 width: int = 16, blocks: int = 3, head: str = "avg"):
        super().__init__()
        self.input_quant = spec.input_quant()
        self.conv1 = spec.conv("conv1", in_channels, width, 3, padding=1)
        self.bn1 = ReparamBatchNorm2d(width)
        self.act1 = spec.relu()
        stages, cin = [], width
        for s, cout in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                stride = 2 if s > 0 and b == 0 else 1
                stages.append(BasicBlock(spec, f"layers.{len(stages)}", cin, cout, stride))
                cin = cout
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1) if head == "avg" else nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = spec.linear("fc", cin, num_classes)

    def forward(self, x):
        x = self.layers(self.act1(self.bn1(self.conv1(self.input_quant(x)))))
        return self.fc(self.flatten(self.pool(x)))
