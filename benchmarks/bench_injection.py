"""Cost of injecting one chip, as ratios against baselines measured in the same run.

For a ResNet-20 (0.27M weights) and a ~10M-weight MLP, at p = 1e-4 and 1e-2:
* new chip: a new chip number every call — sample its bit positions and return corrupted copies
  of all codes, in one pass over the packed weight memory that ``model_codes`` returns (nothing
  is cached between chips: the cost of a chip seen once, as in RandBET training);
* drawn chip: a chip drawn once up to p = 1e-2 (``RandomBitErrors.draw``, as a sweep draws each
  chip at its highest rate) applied at p: the same bits, without sampling again. The calls cycle
  through 16 drawn chips, so no call finds the last one's points in cache;
* drawing: what drawing one chip up to 1e-2 costs (once per chip), and the memory it holds;
* copy: a plain copy of the same integer code arrays (the baseline; numpy copies on one thread);
* on one thread: the new chip with the sampler held to one thread (it runs blocks of 2^18
  weights in parallel when there is more than one), for a like-for-like ratio against the
  one-thread copy;
* eval under chip vs clean: new chip + forward pass on a batch, against the clean forward pass
  (which re-quantizes the float weights, as a plain ``model(x)`` does) and against a forward
  pass on the cached clean codes (``use_codes(model, clean)``, the strict baseline).

Every figure is the median of ``--repeats`` runs taken in turn with its baselines (interleaved).
Injection and copy are measured twice: each right after an untimed forward pass, as in chip
evaluation, and back to back (warm caches). Right after a forward pass everything on these
machines runs several times slower for a while, whatever torch's thread count (np.empty: 0.5 ->
21 us; a numba call that does nothing: 0.6 -> 15 us), so fixed costs weigh differently there.

Run: python benchmarks/bench_injection.py [--repeats 5] [--models resnet20 mlp-10M]
"""

from __future__ import annotations

import argparse
import itertools
from typing import Callable

import numba
import torch

from berth.models import create_model
from berth.quant import kernels
from berth.quant.faults import RandomBitErrors
from berth.quant.inject import model_codes, use_codes
from timing import interleaved_medians

PS = (1e-4, 1e-2)
DRAWN = 16  # drawn chips the "drawn chip" calls cycle through
MODELS = {
    "resnet20": dict(name="resnet20", in_channels=3, input_size=32),
    "mlp-10M": dict(name="mlp", in_channels=3, input_size=32, hidden=(2048, 2048)),
}


def on_one_thread(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with the numba sampler held to one thread."""
    def run() -> object:
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return fn()
        finally:
            numba.set_num_threads(threads)
    return run


def bench_model(label: str, kw: dict, repeats: int) -> None:
    torch.manual_seed(0)
    model = create_model(scheme="rquant", bits=8, **kw).eval()
    clean = model_codes(model)
    n_weights = sum(qt.codes.size for qt in clean.values())
    x = torch.rand(256, kw["in_channels"], kw["input_size"], kw["input_size"])

    def clean_eval():
        with torch.no_grad():
            model(x)

    def cached_eval():
        with torch.no_grad(), use_codes(model, clean):
            model(x)

    chips = itertools.count()  # every injection is a new chip: nothing of the last one is reused

    def chip_eval(p: float) -> Callable[[], None]:
        def run():
            with use_codes(model, RandomBitErrors(p, chip=next(chips)).perturb(clean)), torch.no_grad():
                model(x)
        return run

    drawn = [RandomBitErrors(max(PS), chip=next(chips)).draw(clean) for _ in range(DRAWN)]
    held = sum(m.nbytes for m in drawn[0].maps)
    cycle = itertools.cycle(drawn)
    injections: dict[str, Callable[[], object]] = {
        "copy": lambda: {k: qt.codes.copy() for k, qt in clean.items()},
        "draw": lambda: RandomBitErrors(max(PS), chip=next(chips)).draw(clean)}
    evals: dict[str, Callable[[], object]] = {"clean": clean_eval, "cached": cached_eval}
    for p in PS:
        inject = (lambda p=p: RandomBitErrors(p, chip=next(chips)).perturb(clean))
        injections |= {f"inject {p}": inject, f"inject1 {p}": on_one_thread(inject),
                       f"drawn {p}": lambda p=p: next(cycle).at(p).perturb(clean)}
        evals[f"chip {p}"] = chip_eval(p)
    print(f"\n{label}: {n_weights / 1e6:.2f}M weights")
    for state, before in (("after a forward pass", clean_eval), ("back to back", None)):
        t = interleaved_medians(injections, repeats, before=before)
        print(f"  {state}: copy of codes {t['copy'] * 1e3:.3f} ms; drawing a chip up to p = {max(PS):g} "
              f"{t['draw'] * 1e3:.3f} ms ({t['draw'] / t['copy']:.1f}x copy; it holds {held / 1e6:.2f} MB)")
        print(f"  {'p':>7} {'new chip ms':>12} {'x copy':>7} {'Mweights/s':>11} {'1 thread x copy':>16} "
              f"{'drawn chip ms':>14} {'x copy':>7}")
        for p in PS:
            inject, applied = t[f"inject {p}"], t[f"drawn {p}"]
            print(f"  {p:>7.0e} {inject * 1e3:>12.3f} {inject / t['copy']:>7.1f} {n_weights / inject / 1e6:>11.0f} "
                  f"{t[f'inject1 {p}'] / t['copy']:>16.1f} {applied * 1e3:>14.3f} {applied / t['copy']:>7.1f}")
    t = interleaved_medians(evals, repeats)
    print(f"  evaluation: {'p':>7} {'eval under chip / clean':>24} {'/ eval on cached codes':>23}")
    for p in PS:
        print(f"  {'':11} {p:>7.0e} {t[f'chip {p}'] / t['clean']:>24.3f} {t[f'chip {p}'] / t['cached']:>23.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    args = parser.parse_args()
    numba_threads = kernels.threads()  # starts numba's pool first, so torch keeps its thread count
    print(f"torch threads: {torch.get_num_threads()}, numba threads: {numba_threads}; "
          f"eval batch 256; median of {args.repeats} interleaved runs")
    for label in args.models:
        bench_model(label, MODELS[label], args.repeats)


if __name__ == "__main__":
    main()
