"""Bit-level views of integer codes: m-bit words in, codes out.

Error models work on *words*: the low ``bits`` bits of each code as an unsigned integer (the bit
pattern the memory holds). Container bits at and above ``bits`` are not part of the word and are
therefore never touched. Converting back sign-extends two's-complement words.
"""

from __future__ import annotations

import numpy as np

from berth.core.errors import BerthError


def word_dtype(bits: int) -> np.dtype:
    """Unsigned type wide enough for a ``bits``-bit word."""
    return np.dtype(np.uint8 if bits <= 8 else np.uint16)


def to_words(codes: np.ndarray, bits: int) -> np.ndarray:
    """The stored ``bits``-bit pattern of each code, as an unsigned array (a new array)."""
    wd = word_dtype(bits)
    if bits == wd.itemsize * 8:
        return codes.view(wd).copy()
    return codes.view(wd) & wd.type((1 << bits) - 1)


def from_words(words: np.ndarray, bits: int, container: np.dtype) -> np.ndarray:
    """Codes in ``container`` from ``bits``-bit words (sign-extended when the container is signed)."""
    container = np.dtype(container)
    width = container.itemsize * 8
    if container.kind == "u" or bits == width:
        return words.view(container) if words.dtype.itemsize == container.itemsize else words.astype(container)
    shift = width - bits
    shifted = (words << shift).astype(words.dtype)
    return shifted.view(container) >> shift


def plane_mask(bits: int, select: str | list[int] | tuple[int, ...] = "all", protect: tuple[int, ...] = ()) -> int:
    """Bitmask (over a ``bits``-bit word) of the bit planes an error model may touch.

    ``select`` is "all", "msb", "lsb" or a list of bit indices (0 = least significant);
    ``protect`` lists bit indices that are never touched.
    """
    if select == "all":
        mask = (1 << bits) - 1
    elif select == "msb":
        mask = 1 << (bits - 1)
    elif select == "lsb":
        mask = 1
    elif isinstance(select, (list, tuple)):
        mask = 0
        for b in select:
            _check_bit(b, bits, "bit")
            mask |= 1 << b
    else:
        raise BerthError(f"bit selection {select!r} is not allowed; allowed: 'all', 'msb', 'lsb' or a list of bit indices")
    for b in protect:
        _check_bit(b, bits, "protected bit")
        mask &= ~(1 << b)
    return mask


def check_selection(select: object) -> None:
    """Validate a bit selection before the code width is known ("all", "msb", "lsb", or indices)."""
    if select in ("all", "msb", "lsb"):
        return
    if isinstance(select, (list, tuple)) and all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) and b >= 0 for b in select):
        return
    raise BerthError(f"bit selection {select!r} is not allowed; allowed: 'all', 'msb', 'lsb' or a list of bit indices")


def _check_bit(b: object, bits: int, what: str) -> None:
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 0 <= b < bits:
        raise BerthError(f"{what} index {b!r} is outside 0..{bits - 1} for {bits}-bit codes")
