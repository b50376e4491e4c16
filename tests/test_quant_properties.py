"""Properties every scheme keeps on any weights (hypothesis): clean values inside the clipping
range, the extreme codes reachable, code -> value -> code exact, every storable code decodable.

Each property runs ``EXAMPLES`` generated cases, derandomized so CI sees the same ones every run.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from berth.quant.codes import TINY_RANGE, Quantizer, code_offset, code_range, grid_limits, weight_range
from berth.quant.scheme import PRESETS, QuantScheme, get_scheme

EXAMPLES = 2500  # per property; four properties, 10^4 cases in all
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def schemes(draw) -> QuantScheme:
    name = draw(st.sampled_from(sorted(PRESETS)))
    base = PRESETS[name]
    bits = draw(st.integers(2, 8 if base.grid == "stutz" else 16))
    w_max = draw(st.sampled_from([None, 0.05, 0.1, 0.5, 2.0]))
    return get_scheme(name, bits=bits, w_max=w_max)


scales = st.sampled_from([1e-3, 0.05, 0.1, 1.0, 3.0])
weights = st.builds(lambda a, s: torch.from_numpy(a * np.float32(s)),
                    arrays(np.float32, st.integers(1, 48), elements=st.floats(-1, 1, width=32)), scales)


def quantizer_for(scheme: QuantScheme, w: torch.Tensor) -> Quantizer:
    return Quantizer(scheme, *weight_range([w], scheme))


def clipped(w: torch.Tensor, scheme: QuantScheme) -> torch.Tensor:
    return w if scheme.w_max is None else torch.clamp(w, -scheme.w_max, scheme.w_max)


def extreme_codes(scheme: QuantScheme) -> tuple[int, int]:
    """The codes the range's two ends map to, as documented in docs/schemes.md."""
    m = scheme.bits
    if scheme.grid == "affine":
        g_lo, g_hi = grid_limits(scheme)
        return g_lo + code_offset(scheme), g_hi + code_offset(scheme)
    if not scheme.symmetric:  # range mapped onto [-1, 1], rounded on the widened grid: code 0 unused
        return 1, 2**m - 1
    assert scheme.granularity == "fixed" and scheme.rounding == "trunc" and not scheme.signed  # Normal
    # the floor on the grid widened by 0.001 reaches neither end code: (1, 2^m - 2) for w_max = 1
    h, reach = 2 ** (m - 1), (2 ** (m - 1) - 1) * scheme.w_max / (scheme.w_max + 0.001)
    return h - int(np.ceil(reach)), h + int(np.floor(reach))


RQUANT_EDGE = torch.tensor([0.2, 0.35, 0.5])


@SETTINGS
@given(schemes(), weights)
@example(get_scheme("rquant", bits=8, w_max=0.1), RQUANT_EDGE)
@example(get_scheme("affine", bits=8, w_max=0.1), RQUANT_EDGE)
@example(get_scheme("clipping", bits=4), torch.zeros(5))
def test_clean_values_stay_in_the_clipping_range(scheme, w):
    q = quantizer_for(scheme, w)
    values = q.decode(q.encode(w))
    assert torch.all(torch.isfinite(values))
    bound = scheme.w_max
    if scheme.pow2:  # the rounded-up power-of-two step may pass the range by half a step
        bound = None if bound is None else bound + q.scale / 2
    else:
        assert values.min() >= np.float32(q.lo) and values.max() <= np.float32(q.hi)
    if bound is not None:
        assert values.abs().max() <= np.float32(bound)


@SETTINGS
@given(schemes(), weights)
@example(get_scheme("symmetric-global", bits=4), torch.tensor([1.0, -1.0, 0.3]))
def test_the_range_ends_reach_the_extreme_codes(scheme, w):
    """Affine grids use their top code (truncation no longer loses it to a float ulp); the
    reference's grids use the codes docs/schemes.md lists."""
    if scheme.granularity == "fixed":
        w = torch.cat([w, torch.tensor([-scheme.w_max, scheme.w_max])])
    q = quantizer_for(scheme, w)
    if q.hi - q.lo < TINY_RANGE:
        return  # a constant tensor has one code
    codes = q.encode(w)
    c_lo, c_hi = extreme_codes(scheme)
    wc = clipped(w, scheme)
    if scheme.pow2 and not scheme.symmetric:  # lo's code is the lowest; hi as far as the step reaches
        assert codes[wc.argmin()] == code_range(scheme)[0]
        assert codes[wc.argmax()] == min(torch.round(wc.max() / q.scale) + q.zero_point, code_range(scheme)[1])
    elif scheme.pow2:
        top = torch.clamp(torch.round(wc.abs().max() / q.scale), max=c_hi)
        assert codes[wc.abs().argmax()].abs() == top
    elif scheme.symmetric and scheme.grid == "affine":
        end = wc.abs().argmax()
        assert codes[end] == (c_hi if wc[end] > 0 else c_lo)
    else:
        assert codes[wc.argmax()] == c_hi and codes[wc.argmin()] == c_lo


@SETTINGS
@given(schemes(), weights)
def test_code_value_code_round_trip_is_exact(scheme, w):
    q = quantizer_for(scheme, w)
    codes = q.encode(w)
    assert torch.equal(q.encode(q.decode(codes)), codes)


@SETTINGS
@given(schemes(), weights)
def test_every_storable_code_decodes_inside_the_range(scheme, w):
    """Codes only a bit flip produces (e.g. the most negative two's complement code of a narrow
    grid) decode inside the documented range, as the reference clamps them."""
    q = quantizer_for(scheme, w)
    lo, hi = code_range(scheme)
    values = q.decode(torch.arange(lo, hi + 1, dtype=torch.float32))
    assert torch.all(torch.isfinite(values))
    if scheme.pow2:  # ap_fixed: every code is worth (code - zero point) * step
        codes = torch.arange(lo, hi + 1, dtype=torch.float32)
        assert torch.equal(values, (codes - np.float32(q.zero_point)) * np.float32(q.scale))
    else:
        assert values.min() >= np.float32(q.lo) and values.max() <= np.float32(q.hi)


@pytest.mark.parametrize("bits", [4, 8])
def test_narrow_grid_flip_only_code_is_clamped(bits):
    """The most negative signed code (reachable only by a flip) decodes to -r, not -(1 + 1/(2^(m-1)-1)) r."""
    scheme = get_scheme("symmetric-global", bits=bits)
    q = quantizer_for(scheme, torch.tensor([1.0, -0.5]))
    assert q.decode(torch.tensor([-(2.0 ** (bits - 1))])).item() == -1.0
