"""Baselines for adversarial bit errors: Progressive Bit Search and random flips.

``progressive_bit_search`` follows Rakin et al. (Bit-Flip Attack, ICCV 2019). The labels are the
clean model's own predictions on x. Each iteration: gradient of the cross-entropy w.r.t. the
weights at the current codes; in every layer, the ``top_k`` weights by |gradient|, the gain
g·Δ of flipping each of their bits (Δ: the weight change of that flip from the current word),
and the best flip that raises the loss (in-layer search); each layer's candidate flip is then
evaluated and the one giving the highest loss is applied (cross-layer search). It stops once
the accuracy on (x, y) is at most ``target_accuracy`` (default: chance, 1.1/classes) or after
``max_iterations``; the result reports the exact number of flipped bits (a bit flipped twice
counts zero).

``random_flips`` flips uniformly random distinct bits of all attacked layers, in one seeded order,
and reports the accuracy after each count in ``counts`` (nested: the first k flips of a larger
count are the k of a smaller one, in this call and in any other with the same seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from berth.core.errors import BerthError
from berth.quant.codes import QTensor
from berth.quant.evaluate import predict
from berth.quant.flips import (attacked_codes, flip_deltas, loss_and_accuracy, loss_and_grads, popcount,
                         with_words, words)


@dataclass(frozen=True)
class SearchResult:
    """Outcome of the Progressive Bit Search: ``loss``/``accuracy`` per iteration (0 = clean)."""

    codes: dict[str, QTensor]
    flips: int
    iterations: int
    reached: bool
    loss: list[float]
    accuracy: list[float]
    flipped: list[tuple[str, int, int]]


@dataclass(frozen=True)
class RandomFlipResult:
    """Accuracy on (x, y) after ``counts[i]`` random flips; ``codes`` after the largest count."""

    counts: list[int]
    accuracy: list[float]
    codes: dict[str, QTensor]
    flips: int


def _layer_candidate(g: np.ndarray, w: np.ndarray, qt: QTensor, top_k: int) -> tuple[int, int, float] | None:
    """In-layer search: (element, bit, gain) of the best loss-raising flip among the top-k weights."""
    k = min(top_k, g.size)
    top = np.argpartition(-np.abs(g), k - 1)[:k]
    gain = g[top, None] * flip_deltas(w[top], qt.bits, qt.signed) * qt.scale
    i, b = np.unravel_index(int(np.argmax(gain)), gain.shape)
    if gain[i, b] <= 0:
        return None
    return int(top[i]), int(b), float(gain[i, b])


def progressive_bit_search(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                           target_accuracy: float | None = None, max_iterations: int = 100, top_k: int = 10,
                           layers: list[str] | None = None, batch_size: int = 1024) -> SearchResult:
    """Rakin et al.'s Progressive Bit Search on ``model``'s weights; see the module docstring."""
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 0:
        raise BerthError(f"max_iterations = {max_iterations!r} must be an integer >= 0")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise BerthError(f"top_k = {top_k!r} must be an integer >= 1")
    was_training = model.training
    labels = torch.from_numpy(predict(model, x))
    model.eval()
    try:
        clean = attacked_codes(model, layers)
        if target_accuracy is None:
            with torch.no_grad():
                target_accuracy = 1.1 / model(x[:1]).shape[1]
        cur = {n: words(qt) for n, qt in clean.items()}
        codes = dict(clean)
        loss, acc = loss_and_accuracy(model, codes, x, y, labels, batch_size)
        losses, accs, flipped = [loss], [acc], []
        while acc > target_accuracy and len(flipped) < max_iterations:
            _, _, grads = loss_and_grads(model, codes, x, labels, None, batch_size)
            best = None
            for name, qt in clean.items():
                cand = _layer_candidate(grads[name], cur[name], qt, top_k)
                if cand is None:
                    continue
                trial = cur[name].copy()
                trial[cand[0]] ^= 1 << cand[1]
                trial_codes = {**codes, name: with_words(qt, trial)}
                t_loss, t_acc = loss_and_accuracy(model, trial_codes, x, y, labels, batch_size)
                if best is None or t_loss > best[0]:
                    best = (t_loss, t_acc, name, cand, trial, trial_codes)
            if best is None:
                break
            loss, acc, name, cand, cur[name], codes = best
            flipped.append((name, cand[0], cand[1]))
            losses.append(loss)
            accs.append(acc)
    finally:
        model.train(was_training)
    flips = sum(int(popcount(cur[n] ^ words(clean[n])).sum()) for n in clean)
    return SearchResult(codes, flips, len(flipped), acc <= target_accuracy, losses, accs, flipped)


def random_order(total: int, k: int, seed: int, chunk: int = 4096) -> np.ndarray:
    """The first ``k`` distinct positions of a seeded uniform stream over 0..total-1.

    Prefix-stable: the first k of a longer draw are exactly a shorter draw.
    """
    rng = np.random.default_rng(seed)
    order = np.empty(0, dtype=np.int64)
    while len(order) < k:
        merged = np.concatenate([order, rng.integers(0, total, size=chunk)])
        _, first = np.unique(merged, return_index=True)
        order = merged[np.sort(first)]
    return order[:k]


def random_flips(model: nn.Module, x: torch.Tensor, y: torch.Tensor, counts: list[int], *,
                 layers: list[str] | None = None, seed: int = 0, batch_size: int = 1024) -> RandomFlipResult:
    """Accuracy after each count of uniformly random distinct bit flips (one seeded order)."""
    clean = attacked_codes(model, layers)
    names = list(clean)
    sizes = np.array([clean[n].codes.size * clean[n].bits for n in names])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    counts = [int(c) for c in counts]
    if not counts or min(counts) < 0 or max(counts) > offsets[-1]:
        raise BerthError(f"flip counts {counts} must be non-empty and within 0..{int(offsets[-1])} (the attacked bits)")
    order = random_order(int(offsets[-1]), max(counts), seed)
    was_training = model.training
    accs, codes = [], dict(clean)
    try:
        for count in counts:
            picks = order[:count]
            codes = {}
            for j, name in enumerate(names):
                qt = clean[name]
                local = picks[(picks >= offsets[j]) & (picks < offsets[j + 1])] - offsets[j]
                w = words(qt)
                np.bitwise_xor.at(w, local % qt.codes.size, np.left_shift(1, local // qt.codes.size))
                codes[name] = with_words(qt, w)
            accs.append(loss_and_accuracy(model, codes, x, y, batch_size=batch_size)[1])
    finally:
        model.train(was_training)
    flips = sum(int(popcount(words(codes[n]) ^ words(clean[n])).sum()) for n in names)
    return RandomFlipResult(counts, accs, codes, flips)
