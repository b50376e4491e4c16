"""Training settings (``TrainConfig``), kept free of torch so the CLI can load them cheaply.

``method`` picks the training procedure; weight clipping is orthogonal to it (it is the scheme's
``w_max``, applied as a projection after every step by every method):

* ``qat``: quantization-aware training with straight-through gradients;
* ``randbet``: per batch, the average of the clean gradient and the gradient of the model
  under a fresh random chip at rate ``bet_p`` (Stutz et al., MLSys 2021);
* ``advbet``: the same with adversarial bit errors of ``bet_epsilon`` flipped bits found by
  ``berth.quant.attack`` on the batch (Stutz et al., TPAMI 2022).
"""

from __future__ import annotations

from dataclasses import dataclass

from berth.core.errors import BerthError, check_choice, check_range, check_seed

METHODS = ("qat", "randbet", "advbet")


@dataclass(frozen=True)
class TrainConfig:
    """SGD (momentum, cosine schedule) settings and the bit-error training method.

    ``bet_grad_clip`` clips each element of the perturbed gradient to ±value before averaging.
    ``bet_curriculum`` (off when None) is the loss-threshold curriculum: a batch gets the
    perturbed gradient only once its clean loss is below the threshold. ``adv_iterations``,
    ``adv_per_layer`` and ``adv_one_per_word`` configure the AdvBET attack (budget per layer,
    at most one flipped bit per weight).
    """

    epochs: int = 15  # passes over the training set
    batch_size: int = 64  # examples per SGD step
    lr: float = 0.05  # initial learning rate (cosine schedule to 0)
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 5e-4  # L2 weight decay
    label_smoothing: float = 0.0  # label smoothing of the cross-entropy, in [0, 1)
    seed: int = 0  # seed of initialization and data order
    method: str = "qat"  # training method: qat, randbet or advbet
    bet_p: float = 0.01  # bit error rate of RandBET's random chips
    bet_epsilon: int = 16  # bits AdvBET flips per attack
    bet_grad_clip: float = 0.05  # clip each element of the perturbed gradient to +-value
    bet_curriculum: float | None = None  # loss below which a batch gets the perturbed gradient (unset: always)
    adv_iterations: int = 5  # iterations of AdvBET's attack
    adv_per_layer: bool = False  # AdvBET: the flip budget per layer instead of per model
    adv_one_per_word: bool = False  # AdvBET: at most one flipped bit per weight

    def __post_init__(self) -> None:
        check_choice("training method", self.method, METHODS)
        check_range("bit error rate bet_p", self.bet_p, 0.0, 1.0)
        _check_int("bet_epsilon", self.bet_epsilon, 0)
        _check_int("epochs", self.epochs, 0)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("adv_iterations", self.adv_iterations, 1)
        check_seed("seed", self.seed)
        check_range("label_smoothing", self.label_smoothing, 0.0, 0.999)
        check_range("momentum", self.momentum, 0.0, 1.0)
        if not _positive(self.lr):
            raise BerthError(f"lr = {self.lr!r} must be > 0")
        if not _positive(self.bet_grad_clip):
            raise BerthError(f"bet_grad_clip = {self.bet_grad_clip!r} must be > 0")
        if not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise BerthError(f"weight_decay = {self.weight_decay!r} must be >= 0")
        if self.bet_curriculum is not None and not _positive(self.bet_curriculum):
            raise BerthError(f"bet_curriculum = {self.bet_curriculum!r} must be a loss threshold > 0 (or unset)")


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_int(what: str, value: object, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise BerthError(f"{what} = {value!r} must be an integer >= {lo}")
