"""A model's codes as one weight memory: every tensor's codes are a view into a shared buffer.

Why: an accelerator stores a model's weights back to back, and a chip corrupts that memory as a
whole. Keeping the codes packed the same way lets a bit-error model corrupt every tensor in one
compiled pass over one buffer (``berth.quant.sampling.flip_words``) instead of one call per tensor,
which for a small model like ResNet-20 cost more than the flips themselves.

Tensors are grouped by container width (8 or 16 bits): each group is a ``Segment``, its words
one unsigned buffer in the tensors' order. Signed codes are stored as their two's-complement bit
patterns; each tensor's ``codes`` is a view of its slice with its own dtype and shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from berth.quant.bits import word_dtype
from berth.quant.codes import QTensor
from berth.quant.sampling import Packing


@dataclass(frozen=True)
class Segment:
    """Tensors whose codes share one container width, packed back to back in ``words``."""

    words: np.ndarray  # 1-D uint8 or uint16
    packing: Packing
    offsets: tuple[int, ...]  # first word of each tensor


class WeightMemory(Mapping[str, QTensor]):
    """``{tensor name: QTensor}`` (read-only, in the given order) whose codes live in ``segments``."""

    def __init__(self, tensors: dict[str, QTensor], segments: tuple[Segment, ...]):
        self._tensors = tensors
        self.segments = segments
        self._views: tuple[tuple[tuple[str, dict, tuple[int, ...], np.dtype, int], ...], ...] | None = None

    @classmethod
    def pack(cls, tensors: Mapping[str, QTensor]) -> WeightMemory:
        """``tensors`` as a weight memory: itself when it is one, else its codes copied into one."""
        if isinstance(tensors, WeightMemory):
            return tensors
        groups: dict[np.dtype, list[str]] = {}
        for name, qt in tensors.items():
            groups.setdefault(word_dtype(8 * qt.codes.itemsize), []).append(name)
        segments = []
        for dtype, names in groups.items():
            qts = [tensors[n] for n in names]
            sizes = tuple(qt.codes.size for qt in qts)
            packing = Packing(tuple(names), sizes, tuple(qt.bits for qt in qts),
                              tuple(qt.codes.dtype.kind == "i" for qt in qts))
            words = np.concatenate([qt.codes.reshape(-1).view(dtype) for qt in qts])
            segments.append(Segment(words, packing, tuple(np.cumsum((0,) + sizes[:-1]).tolist())))
        return cls(dict(tensors), tuple(segments)).holding(tuple(s.words for s in segments))

    def holding(self, words: tuple[np.ndarray, ...]) -> WeightMemory:
        """A memory laid out like this one that holds ``words`` (one buffer per segment): the same
        quantizers (scale, zero point, bits, sign) over other codes.

        Every chip builds one, so each tensor is made as ``QTensor.with_codes`` makes it, from
        fields and view geometry worked out once per layout (``_view_specs``).
        """
        views = self._view_specs()
        tensors, new = {}, object.__new__
        for seg_views, buffer in zip(views, words):
            for name, fields, shape, dtype, offset in seg_views:
                qt = new(QTensor)
                qt.__dict__.update(fields)
                qt.__dict__["codes"] = np.ndarray(shape, dtype, buffer, offset)
                tensors[name] = qt
        if len(words) > 1:  # back to the caller's order
            tensors = {name: tensors[name] for name in self._tensors}
        memory = WeightMemory(tensors, tuple(Segment(b, s.packing, s.offsets) for s, b in zip(self.segments, words)))
        memory._views = views
        return memory

    def renamed(self, names: Mapping[str, str]) -> WeightMemory:
        """The same buffers and views under other tensor names (``names``: old -> new)."""
        tensors = {names[n]: qt for n, qt in self._tensors.items()}
        segments = tuple(Segment(s.words, s.packing._replace(names=tuple(names[n] for n in s.packing.names)), s.offsets)
                         for s in self.segments)
        return WeightMemory(tensors, segments)

    def positions(self) -> dict[str, str]:
        """Each tensor's memory position as a name, ``"@<container bits>:<first word>"``: chips
        keyed by it are addressed by where a tensor lies, not by what it is called."""
        return {name: f"@{8 * s.words.itemsize}:{offset}"
                for s in self.segments for name, offset in zip(s.packing.names, s.offsets)}

    def _view_specs(self) -> tuple[tuple[tuple[str, dict, tuple[int, ...], np.dtype, int], ...], ...]:
        """Per segment, per tensor: (name, its QTensor fields, codes shape, codes dtype, byte offset)."""
        if self._views is None:
            self._views = tuple(
                tuple((name, dict(self._tensors[name].__dict__), self._tensors[name].codes.shape,
                       self._tensors[name].codes.dtype, offset * seg.words.itemsize)
                      for name, offset in zip(seg.packing.names, seg.offsets))
                for seg in self.segments)
        return self._views

    def __reduce__(self) -> tuple[object, tuple[dict[str, QTensor]]]:
        """Pickle as the tensors, packed again on load, so the codes stay views of the buffers."""
        return WeightMemory.pack, (dict(self._tensors),)

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.words.size} {s.words.dtype} words" for s in self.segments)
        return f"WeightMemory({len(self)} tensors in {parts or 'no words'})"

    def __getitem__(self, name: str) -> QTensor:
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)
