"""Adversarial bit errors: attacks that flip bits of the stored integer weights.

Three attacks, each taking the model and data and returning the perturbed codes, the exact number
of flipped bits and the loss/accuracy trajectory; none modifies the model's float weights:

* ``bit_flip_attack(model, x, y, epsilon, ...) -> AttackResult`` — the gradient-guided attack of
  Stutz et al. (TPAMI 2022): projected gradient ascent on the integer codes under a budget of
  ``epsilon`` flipped bits, over all attacked layers together or ``per_layer``; optionally at most
  one flipped bit per word (``one_per_word``: the most significant differing bit is kept);
  ``restarts`` random restarts; untargeted (maximize cross-entropy on ``y``) or ``target``-ed
  (push every prediction to class ``target``).
* ``progressive_bit_search(model, x, y, ...) -> SearchResult`` — the baseline of Rakin et al.
  (Bit-Flip Attack, ICCV 2019), in ``berth.quant.bfa``.
* ``random_flips(model, x, y, counts, ...) -> RandomFlipResult`` — uniformly random distinct
  bit flips, the random baseline, in ``berth.quant.bfa``.

How ``bit_flip_attack`` steps: at the current codes c, the gradient g of the objective w.r.t. the
weights gives code gradients g·scale; a step moves the real-valued codes by
``step · 2^m · g/max|g|`` (clamped to the word range, rounded). The projection onto the budget
then keeps, among the bits in which the new words differ from the clean ones (only the most
significant one per word with ``one_per_word``), the ``epsilon`` with the largest first-order
gain g·Δ (Δ: the weight change of flipping that bit alone), dropping bits whose gain is not
positive. Every iterate is therefore feasible, and the best iterate (highest objective on
(x, y)) over all iterations and restarts is returned. Restart 0 starts from the clean codes,
later ones from ``epsilon`` random flips (seeded by ``seed`` and the restart index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from berth.core.errors import BerthError
from berth.quant.bfa import RandomFlipResult, SearchResult, progressive_bit_search, random_flips
from berth.quant.codes import QTensor
from berth.quant.flips import attacked_codes, flip_deltas, loss_and_grads, popcount, with_words, words

__all__ = ["AttackResult", "bit_flip_attack", "SearchResult", "progressive_bit_search",
           "RandomFlipResult", "random_flips"]


@dataclass(frozen=True)
class AttackResult:
    """Outcome of ``bit_flip_attack``: the best perturbed codes and how it got there.

    ``loss``/``accuracy``: objective and accuracy on (x, y) at each iterate of the best restart
    (index 0 is its start); ``restart_losses``: the best objective of every restart.
    """

    codes: dict[str, QTensor]
    flips: int
    flips_per_layer: dict[str, int]
    loss: list[float]
    accuracy: list[float]
    restart_losses: list[float]

    @property
    def error(self) -> float:
        """Error on the attack data under the best perturbed codes."""
        return 1.0 - self.accuracy[int(np.argmax(self.loss))]


def _check_args(epsilon: int, iterations: int, restarts: int, step: float) -> None:
    for what, value, lo in (("epsilon", epsilon, 0), ("iterations", iterations, 0), ("restarts", restarts, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise BerthError(f"attack {what} = {value!r} must be an integer >= {lo}")
    if not isinstance(step, (int, float)) or not step > 0:
        raise BerthError(f"attack step = {step!r} must be > 0")


def _msb(diff: np.ndarray) -> np.ndarray:
    """The most significant set bit of each word (0 where none is set)."""
    out = np.zeros_like(diff)
    nz = diff > 0
    out[nz] = np.left_shift(1, np.floor(np.log2(diff[nz])).astype(np.int64))
    return out


def _signed_codes(w: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Integer code value of each word (two's complement when ``signed``)."""
    return w - ((w >> (bits - 1)) & 1) * (1 << bits) if signed else w


class _Budget:
    """The feasible set: at most ``epsilon`` flips (per layer or in all), optionally one per word."""

    def __init__(self, clean: dict[str, QTensor], epsilon: int, per_layer: bool, one_per_word: bool):
        self.clean = clean
        self.words = {name: words(qt) for name, qt in clean.items()}
        self.epsilon = int(epsilon)
        self.per_layer = per_layer
        self.one_per_word = one_per_word

    def project(self, proposal: dict[str, np.ndarray], gain: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feasible words closest in first-order gain to ``proposal``: the top-gain differing bits."""
        cands = []
        for li, (name, clean) in enumerate(self.words.items()):
            diff = proposal[name] ^ clean
            if self.one_per_word:
                diff = _msb(diff)
            elem, bit = np.nonzero((diff[:, None] >> np.arange(self.clean[name].bits)[None, :]) & 1)
            score = gain[name][elem, bit]
            keep = score > 0
            cands.append((li, elem[keep], bit[keep], score[keep]))
        chosen = self._select(cands)
        out = {name: w.copy() for name, w in self.words.items()}
        for li, elem, bit in chosen:
            name = list(self.words)[li]
            np.bitwise_xor.at(out[name], elem, np.left_shift(1, bit))
        return out

    def _select(self, cands: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The top-``epsilon`` candidates by score, per layer or over all layers."""
        if self.per_layer:
            chosen = []
            for li, elem, bit, score in cands:
                top = np.argsort(-score, kind="stable")[:self.epsilon]
                chosen.append((li, elem[top], bit[top]))
            return chosen
        layer = np.concatenate([np.full(len(e), li) for li, e, _, _ in cands])
        elem = np.concatenate([e for _, e, _, _ in cands])
        bit = np.concatenate([b for _, _, b, _ in cands])
        order = np.argsort(-np.concatenate([s for _, _, _, s in cands]), kind="stable")[:self.epsilon]
        return [(li, elem[order][layer[order] == li], bit[order][layer[order] == li]) for li in range(len(cands))]

    def random_start(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``epsilon`` uniformly random flips (per layer or in all) obeying the budget."""
        names = list(self.words)
        sizes = np.array([len(self.words[n]) for n in names])
        bits = np.array([self.clean[n].bits for n in names])
        out = {name: w.copy() for name, w in self.words.items()}
        scopes = [[i] for i in range(len(names))] if self.per_layer else [list(range(len(names)))]
        for scope in scopes:
            units = sizes[scope] if self.one_per_word else sizes[scope] * bits[scope]
            offsets = np.concatenate([[0], np.cumsum(units)])
            picks = rng.choice(int(offsets[-1]), size=min(self.epsilon, int(offsets[-1])), replace=False)
            for j, li in enumerate(scope):
                local = picks[(picks >= offsets[j]) & (picks < offsets[j + 1])] - offsets[j]
                if self.one_per_word:
                    elem, bit = local, rng.integers(0, bits[li], size=len(local))
                else:
                    elem, bit = local % sizes[li], local // sizes[li]
                np.bitwise_xor.at(out[names[li]], elem, np.left_shift(1, bit))
        return out


def _ascent_step(clean: dict[str, QTensor], cur: dict[str, np.ndarray], grads: dict[str, np.ndarray],
                 step: float, per_layer: bool) -> dict[str, np.ndarray]:
    """Words after a normalized gradient step on the real-valued codes (clamped, rounded)."""
    g_code = {n: grads[n] * clean[n].scale for n in clean}
    peak = max((float(np.abs(g).max()) for g in g_code.values() if g.size), default=0.0)
    out = {}
    for name, qt in clean.items():
        norm = float(np.abs(g_code[name]).max()) if per_layer else peak
        codes = _signed_codes(cur[name], qt.bits, qt.signed).astype(np.float64)
        if norm > 0:
            codes = codes + step * 2**qt.bits * g_code[name] / norm
        lo, hi = (-(2 ** (qt.bits - 1)), 2 ** (qt.bits - 1) - 1) if qt.signed else (0, 2**qt.bits - 1)
        out[name] = np.rint(np.clip(codes, lo, hi)).astype(np.int64) & ((1 << qt.bits) - 1)
    return out


def _gains(clean: dict[str, QTensor], budget: _Budget, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """First-order objective gain of flipping each clean bit: g · Δcode · scale, shape (n, bits)."""
    return {n: grads[n][:, None] * flip_deltas(budget.words[n], qt.bits, qt.signed) * qt.scale
            for n, qt in clean.items()}


def bit_flip_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: int, *,
                    layers: list[str] | None = None, per_layer: bool = False, one_per_word: bool = False,
                    iterations: int = 20, restarts: int = 1, step: float = 0.5, target: int | None = None,
                    seed: int = 0, batch_size: int = 512) -> AttackResult:
    """Adversarial bit errors on ``model``'s weights for data (x, y); see the module docstring."""
    _check_args(epsilon, iterations, restarts, step)
    was_training = model.training
    model.eval()
    try:
        clean = attacked_codes(model, layers)
        budget = _Budget(clean, epsilon, per_layer, one_per_word)
        best = None
        restart_losses = []
        for r in range(restarts):
            cur = budget.words if r == 0 else budget.random_start(np.random.default_rng([seed, r]))
            run = _ascend(model, clean, budget, cur, x, y, iterations, step, target, batch_size)
            restart_losses.append(max(run[1]))
            if best is None or max(run[1]) > max(best[1]):
                best = run
    finally:
        model.train(was_training)
    codes, loss, acc = best
    flips = {n: int(popcount(words(codes[n]) ^ budget.words[n]).sum()) for n in clean}
    return AttackResult(codes, sum(flips.values()), flips, loss, acc, restart_losses)


def _ascend(model: nn.Module, clean: dict[str, QTensor], budget: _Budget, cur: dict[str, np.ndarray],
            x: torch.Tensor, y: torch.Tensor, iterations: int, step: float, target: int | None,
            batch_size: int) -> tuple[dict[str, QTensor], list[float], list[float]]:
    """One restart: (best codes, objective trajectory, accuracy trajectory)."""
    losses, accs = [], []
    best_codes, best_loss = None, -np.inf
    for t in range(iterations + 1):
        codes = {n: with_words(qt, cur[n]) for n, qt in clean.items()}
        loss, acc, grads = loss_and_grads(model, codes, x, y, target, batch_size)
        losses.append(loss)
        accs.append(acc)
        if loss > best_loss:
            best_codes, best_loss = codes, loss
        if t < iterations:
            cur = budget.project(_ascent_step(clean, cur, grads, step, budget.per_layer),
                                 _gains(clean, budget, grads))
    return best_codes, losses, accs
