"""AdvBET's perturbation: adversarial bit errors found on the current batch.

Per batch, ``bit_flip_attack`` (untargeted, ``epsilon`` flipped bits, ``iterations`` steps, one
start from the clean codes) attacks the current model on the batch; training then averages the
clean gradient with the gradient under those codes (``berth.train.randbet.bet_backward``). The seed of
the attack is a pure function of (seed, epoch, step), as for RandBET's chips.
"""

from __future__ import annotations

import torch
from torch import nn

from berth.quant.attack import bit_flip_attack
from berth.quant.codes import QTensor
from berth.train.randbet import batch_seed


class AdversarialPerturbation:
    """Adversarial bit errors of budget ``epsilon`` (global or per layer) on each training batch."""

    def __init__(self, epsilon: int, iterations: int, seed: int, per_layer: bool = False,
                 one_per_word: bool = False):
        self.epsilon = epsilon
        self.iterations = iterations
        self.seed = seed
        self.per_layer = per_layer
        self.one_per_word = one_per_word

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 epoch: int, step: int) -> dict[str, QTensor]:
        result = bit_flip_attack(model, x, y, self.epsilon, per_layer=self.per_layer,
                                 one_per_word=self.one_per_word, iterations=self.iterations,
                                 seed=batch_seed(self.seed, epoch, step, "advbet"))
        return result.codes
