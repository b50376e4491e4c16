"""Bit-error models: what low-voltage SRAM (or a profiled chip) does to stored weight codes.

Every model maps ``{tensor name: QTensor}`` to a new mapping with corrupted codes; clean codes,
scales and zero points are never modified (ranges come from the clean weights). Random flips are
XORed into a copy of the whole weight memory (``berth.quant.memory``) by one compiled pass
(``berth.quant.kernels``); stuck-at and profiled maps are vectorized AND / OR masks — no Python loop
over weights, no model copies.

Random models are *persistent chips*: ``chip`` is a seed, and the bits it corrupts are a pure
function of (chip, tensor name, element, bit, p) — independent of parameter order and of other
layers — and nested in p. See ``berth.quant.sampling`` for the exact construction. With
``addressing="position"`` a tensor's memory position (container width and first word, in the
order the tensors are given) takes the place of its name, as in Stutz et al.'s reference, which
hands out one uniform per stored bit in parameter order: two models laid out alike get the same
chip, and a tensor inserted before another changes the other's errors.
``RandomBitErrors.draw`` keeps a chip's flips (``berth.quant.faultmap``), so the chip can be applied at
many rates without sampling it again.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from berth.core.errors import BerthError, check_choice, check_range
from berth.quant.bits import check_selection, from_words, plane_mask, to_words, word_dtype
from berth.quant.codes import QTensor
from berth.quant.faultmap import FaultMap
from berth.quant.kernels import GOLDEN, mix
from berth.quant.memory import Segment, WeightMemory
from berth.quant.sampling import flip_bits, flip_words, sampled_mask

Tensors = Mapping[str, QTensor]


class ErrorModel(ABC):
    """A corruption of stored codes."""

    @abstractmethod
    def perturb(self, tensors: Tensors) -> Tensors:
        """Corrupted copies of ``tensors`` (same keys, same order; a read-only mapping)."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """Plain-data description for result records."""


class RandomBitErrors(ErrorModel):
    """Random bit flips of a persistent chip.

    Each stored bit flips independently with probability ``p``; with ``p01``/``p10`` a bit holding
    0 flips to 1 with probability ``p01`` and a bit holding 1 flips to 0 with ``p10``. ``chip`` is
    the seed: the same chip flips the same bits, and every bit flipped at p is flipped at any
    larger p. ``bits`` restricts errors to "msb", "lsb" or a list of bit indices; ``protect``
    lists bit indices never touched. Bits above the code width are never touched. ``addressing``:
    a chip's errors keyed by tensor ``name`` or by memory ``position`` (module docstring).
    """

    def __init__(self, p: float, chip: int = 0, p01: float | None = None, p10: float | None = None,
                 bits: str | list[int] = "all", protect: tuple[int, ...] = (), addressing: str = "name"):
        check_selection(bits)
        check_selection(list(protect))
        check_choice("chip addressing", addressing, ADDRESSING)
        self.addressing = addressing
        self.chip = int(chip)
        self.bits = bits
        self.protect = tuple(protect)
        self._set_rates(p, p01, p10)

    def _set_rates(self, p: float, p01: float | None, p10: float | None) -> None:
        for name, value in (("p", p), ("p01", p01), ("p10", p10)):
            if value is not None:
                check_range(f"bit error rate {name}", value, 0.0, 1.0)
        self.p = float(p)
        self.p01 = float(p if p01 is None else p01)
        self.p10 = float(p if p10 is None else p10)

    def at(self, p: float, p01: float | None = None, p10: float | None = None) -> RandomBitErrors:
        """The same chip (and bit selection) at other rates."""
        new = object.__new__(RandomBitErrors)
        new.__dict__.update(self.__dict__)
        new._set_rates(p, p01, p10)
        return new

    def flip_mask(self, name: str, words: np.ndarray, bits: int) -> np.ndarray:
        """XOR mask (per word) of the bits this chip flips in tensor ``name`` holding ``words``."""
        allowed = plane_mask(bits, self.bits, self.protect)
        return flip_bits(words, bits, allowed, "flip", self.chip, name, self.p01, self.p10) ^ words

    def perturb(self, tensors: Tensors) -> WeightMemory:
        """Corrupted copies, in one pass per segment of the weight memory (``WeightMemory.pack``
        copies ``tensors`` into one first unless it already is one, as ``model_codes`` returns)."""
        memory = _addressed(WeightMemory.pack(tensors), self.addressing)
        return _named(memory.holding(tuple(self._flip(seg) for seg in memory.segments)), tensors, self.addressing)

    def _flip(self, seg: Segment) -> np.ndarray:
        allowed = _allowed(seg.packing.bits, _hashable(self.bits), self.protect)
        return flip_words(seg.words, seg.packing, allowed, "flip", self.chip, self.p01, self.p10)

    def describe(self) -> dict[str, object]:
        return {"model": "random", "p": self.p, "p01": self.p01, "p10": self.p10, "chip": self.chip,
                "bits": self.bits, "protect": list(self.protect), "addressing": self.addressing}

    def draw(self, tensors: Tensors) -> DrawnChip:
        """This chip's errors drawn once over the layout of ``tensors``, up to this model's rates:
        ``draw(t).at(p).perturb(t)`` equals ``RandomBitErrors(p, chip, ...).perturb(t)`` bit for
        bit at every rate up to them, at the cost of a copy plus one write per flipped bit."""
        memory = _addressed(WeightMemory.pack(tensors), self.addressing)
        maps = tuple(FaultMap.draw(seg.packing, _allowed(seg.packing.bits, _hashable(self.bits), self.protect),
                                   seg.words.dtype, "flip", self.chip, max(self.p01, self.p10))
                     for seg in memory.segments)
        return DrawnChip(self, maps)


class DrawnChip(ErrorModel):
    """A ``RandomBitErrors`` chip whose flips were drawn once (``RandomBitErrors.draw``), so it can
    be applied at any rate up to the drawn ones (``at``) without drawing again: a sweep draws each
    chip at its highest rate. Same flips, same ``describe()`` as the ``RandomBitErrors`` it stands for."""

    def __init__(self, errors: RandomBitErrors, maps: tuple[FaultMap, ...]):
        self.errors = errors
        self.maps = maps

    def at(self, p: float, p01: float | None = None, p10: float | None = None) -> DrawnChip:
        """The same chip at rate ``p`` (or ``p01``/``p10``), each at most the rate it was drawn up to."""
        return DrawnChip(self.errors.at(p, p01, p10), self.maps)

    def perturb(self, tensors: Tensors) -> WeightMemory:
        """Corrupted copies of ``tensors`` (laid out as the ones the chip was drawn over)."""
        e = self.errors
        memory = _addressed(WeightMemory.pack(tensors), e.addressing)
        if tuple(seg.packing for seg in memory.segments) != tuple(m.packing for m in self.maps):
            raise BerthError("these tensors are laid out differently from the ones this chip was drawn over; "
                             "draw it again over them")
        words = tuple(m.apply(seg.words, e.p01, e.p10) for m, seg in zip(self.maps, memory.segments))
        return _named(memory.holding(words), tensors, e.addressing)

    def describe(self) -> dict[str, object]:
        return self.errors.describe()


ADDRESSING = ("name", "position")


def _addressed(memory: WeightMemory, addressing: str) -> WeightMemory:
    """``memory`` with its tensors named as the chip addresses them."""
    return memory if addressing == "name" else memory.renamed(memory.positions())


def _named(memory: WeightMemory, tensors: Tensors, addressing: str) -> WeightMemory:
    """A corrupted ``memory`` back under the names of ``tensors`` (same order)."""
    if addressing == "name":
        return memory
    return memory.renamed(dict(zip(memory, tensors)))


@lru_cache(maxsize=256)
def _allowed(bits: tuple[int, ...], select: str | tuple[int, ...], protect: tuple[int, ...]) -> tuple[int, ...]:
    """``plane_mask`` per tensor (cached: the same few layouts come back for every chip)."""
    return tuple(plane_mask(m, select, protect) for m in bits)


def _hashable(select: str | list[int]) -> str | tuple[int, ...]:
    return select if isinstance(select, str) else tuple(select)


class StuckAtErrors(ErrorModel):
    """Stuck-at cells of a persistent chip.

    Each stored bit is a stuck cell with probability ``p`` (nested in p, like RandomBitErrors);
    a stuck cell reads ``value`` (0 or 1), or with ``value="random"`` a fair coin that is a pure
    function of (chip, tensor, element, bit), so it does not change with p. A cell stuck at the
    value it already holds changes nothing.
    """

    def __init__(self, p: float, chip: int = 0, value: int | str = "random",
                 bits: str | list[int] = "all", protect: tuple[int, ...] = ()):
        check_range("stuck-at rate p", p, 0.0, 1.0)
        check_choice("stuck-at value", value, (0, 1, "random"))
        check_selection(bits)
        check_selection(list(protect))
        self.p = float(p)
        self.chip = int(chip)
        self.value = value
        self.bits = bits
        self.protect = tuple(protect)

    def masks(self, name: str, n: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
        """(stuck-at-0 mask, stuck-at-1 mask) over the words of tensor ``name``."""
        allowed = plane_mask(bits, self.bits, self.protect)
        dtype = word_dtype(bits)
        full = sampled_mask(n, bits, allowed, "stuck", self.chip, name, self.p, dtype)
        if self.value == "random":
            cells = np.flatnonzero(full)
            coins = np.zeros(n, dtype=dtype)
            seed = f"stuck-value\0{self.chip}\0{name}"
            coins[cells] = (_hash_uniform(seed, cells) * 2.0**16).astype(np.uint32).astype(dtype)
            return full & ~coins, full & coins
        zero = np.zeros(n, dtype=dtype)
        return (full, zero) if self.value == 0 else (zero, full)

    def perturb(self, tensors: Tensors) -> dict[str, QTensor]:
        out = {}
        for name, qt in tensors.items():
            words = to_words(qt.codes, qt.bits).reshape(-1)
            s0, s1 = self.masks(name, words.size, qt.bits)
            words = (words & ~s0) | s1
            out[name] = qt.with_codes(from_words(words, qt.bits, qt.codes.dtype).reshape(qt.shape))
        return out

    def describe(self) -> dict[str, object]:
        return {"model": "stuck_at", "p": self.p, "chip": self.chip, "value": self.value,
                "bits": self.bits, "protect": list(self.protect)}


def memory_layout(tensors: Tensors, word_width: int) -> dict[str, tuple[int, int]]:
    """Word address of each tensor in weight memory: ``{name: (base_word, codes_per_word)}``.

    The documented mapping: tensors are laid out in the order given (a model's registration
    order), each starting at a fresh word; a tensor's codes, flattened in C order, are packed
    ``word_width // bits`` per word, code ``i`` in word ``base + i // cpw`` at bit offset
    ``(i % cpw) * bits`` (least significant first).
    """
    layout, address = {}, 0
    for name, qt in tensors.items():
        if qt.bits > word_width:
            raise BerthError(f"tensor {name!r} has {qt.bits}-bit codes, wider than the {word_width}-bit memory word")
        cpw = word_width // qt.bits
        layout[name] = (address, cpw)
        address += -(-qt.codes.size // cpw)
    return layout


def _hash_uniform(seed: int | str, index: np.ndarray) -> np.ndarray:
    """Counter-based uniform [0,1) for each index (``kernels.mix``, splitmix64, keyed by a hash of seed)."""
    key = int.from_bytes(hashlib.blake2b(str(seed).encode(), digest_size=8).digest(), "little")
    with np.errstate(over="ignore"):
        z = mix(index.astype(np.uint64) * GOLDEN + np.uint64(key))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


class ProfiledErrors(ErrorModel):
    """A measured chip map laid over weight memory (see ``memory_layout`` for the mapping).

    ``kind="prob"``: the map holds per-bit error probabilities in [0, 1], shape (words, word_width);
    bit j of word a flips when a uniform keyed by (seed, a, j) is below map[a, j] (persistent).
    ``kind="stuck"``: the map holds -1 (healthy), 0 (stuck-at-0) or 1 (stuck-at-1).
    Addresses beyond the map wrap around (address modulo the number of words), after adding
    ``base_address``.
    """

    def __init__(self, chip_map: np.ndarray | str | Path, word_width: int, kind: str = "prob",
                 seed: int = 0, base_address: int = 0):
        check_choice("profiled map kind", kind, ("prob", "stuck"))
        self.source = str(chip_map) if not isinstance(chip_map, np.ndarray) else "<array>"
        self.map = load_chip_map(chip_map, word_width, kind)
        self.word_width = int(word_width)
        self.kind = kind
        self.seed = int(seed)
        self.base_address = int(base_address)

    def _cells(self, base: int, cpw: int, n: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
        i = np.arange(n)
        address = (self.base_address + base + i // cpw) % self.map.shape[0]
        col = (i % cpw)[:, None] * bits + np.arange(bits)[None, :]
        return address[:, None], col

    def perturb(self, tensors: Tensors) -> dict[str, QTensor]:
        out = {}
        for name, (base, cpw) in memory_layout(tensors, self.word_width).items():
            qt = tensors[name]
            words = to_words(qt.codes, qt.bits).reshape(-1)
            address, col = self._cells(base, cpw, words.size, qt.bits)
            cell = self.map[address, col]
            weights = np.left_shift(1, np.arange(qt.bits)).astype(np.int64)
            if self.kind == "prob":
                u = _hash_uniform(self.seed, address * self.word_width + col)
                flips = ((u < cell) * weights).sum(axis=1).astype(words.dtype)
                words ^= flips
            else:
                s0 = ((cell == 0) * weights).sum(axis=1).astype(words.dtype)
                s1 = ((cell == 1) * weights).sum(axis=1).astype(words.dtype)
                words = (words & ~s0) | s1
            out[name] = qt.with_codes(from_words(words, qt.bits, qt.codes.dtype).reshape(qt.shape))
        return out

    def describe(self) -> dict[str, object]:
        return {"model": "profiled", "source": self.source, "kind": self.kind, "seed": self.seed,
                "word_width": self.word_width, "words": int(self.map.shape[0]), "base_address": self.base_address}


def load_chip_map(chip_map: np.ndarray | str | Path, word_width: int, kind: str) -> np.ndarray:
    """Load and validate a chip map: shape (words, word_width), values allowed by ``kind``."""
    if isinstance(chip_map, np.ndarray):
        arr, where = chip_map, "chip map"
    else:
        where = f"chip map {str(chip_map)!r}"
        try:
            arr = np.load(chip_map, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BerthError(f"{where} is not a readable .npy file ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != word_width or arr.shape[0] == 0:
        raise BerthError(f"{where} has shape {arr.shape}; expected (words, {word_width}) for {word_width}-bit words")
    if kind == "prob":
        if not np.issubdtype(arr.dtype, np.floating) or not ((arr >= 0) & (arr <= 1)).all():
            raise BerthError(f"{where} must hold probabilities in [0, 1]")
        return arr.astype(np.float64)
    if not np.isin(arr, (-1, 0, 1)).all():
        raise BerthError(f"{where} must hold -1 (healthy), 0 or 1 (stuck-at values)")
    return arr.astype(np.int8)


# The bit-error kinds a sweep, an HLS injection or any other caller can name, each with how its
# model is built from a spec (``{"kind": ..., kind-specific keys}``), a rate and a chip.
ERROR_KINDS: dict[str, Callable[[Mapping, float, int], ErrorModel]] = {
    "random": lambda spec, p, chip: RandomBitErrors(p, chip=chip, addressing=spec.get("addressing", "name")),
    "stuck_at": lambda spec, p, chip: StuckAtErrors(p, chip=chip, value=spec.get("value", "random")),
    "profiled": lambda spec, p, chip: ProfiledErrors(spec["maps"][chip], spec["word_width"], kind=spec["map_kind"],
                                                     seed=spec["seed"]),
}


def error_model(spec: Mapping, p: float, chip: int) -> ErrorModel:
    """The error model of ``spec`` (a kind of ``ERROR_KINDS`` and its keys) at rate ``p`` for ``chip``
    (for a profiled spec, ``chip`` picks the map and ``p`` is the map's own rate)."""
    check_choice("bit-error kind", spec["kind"], tuple(ERROR_KINDS))
    return ERROR_KINDS[spec["kind"]](spec, p, chip)
