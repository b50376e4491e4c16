"""Between models and codes: read a model's stored integers, evaluate it under corrupted ones.

``model_codes(model)`` gives ``{layer name: QTensor}`` — the one set of integers that feeds bit
error injection, hls4ml export and HLS weight files. ``use_codes(model, tensors)`` makes the
model compute with other codes until the context ends; the float weights are never modified.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping

from torch import nn

from berth.quant.brevitas_quant import quantized_layers, scheme_quantizers
from berth.quant.codes import QTensor
from berth.quant.faults import ErrorModel
from berth.quant.memory import WeightMemory


def model_codes(model: nn.Module) -> WeightMemory:
    """Clean codes of every quantized layer's weight, keyed by layer name (registration order),
    packed as one weight memory (what bit-error models corrupt in one pass)."""
    layers = quantized_layers(model)
    return WeightMemory.pack({name: q.qtensor(layers[name].weight) for name, q in scheme_quantizers(model).items()})


@contextmanager
def use_codes(model: nn.Module, tensors: Mapping[str, QTensor]) -> Iterator[nn.Module]:
    """Within the context, ``model`` computes with ``tensors`` (a subset of layers is allowed)."""
    quantizers = scheme_quantizers(model)
    unknown = set(tensors) - set(quantizers)
    if unknown:
        raise KeyError(f"no quantized layer named {sorted(unknown)}")
    try:
        for name, qt in tensors.items():
            quantizers[name].override(qt)
        yield model
    finally:
        for name in tensors:
            quantizers[name].override(None)


@contextmanager
def under_errors(model: nn.Module, errors: ErrorModel,
                 clean: Mapping[str, QTensor] | None = None) -> Iterator[nn.Module]:
    """Within the context, ``model`` computes with its codes corrupted by ``errors``.

    Pass ``clean`` (from ``model_codes``) to reuse the clean codes across many chips.
    """
    clean = model_codes(model) if clean is None else clean
    with use_codes(model, errors.perturb(clean)):
        yield model
