"""The paper's error protocol beside berth's: chips over every stored parameter, addressed by
memory position, against chips over layer weights keyed by tensor name."""

import numpy as np
import pytest
import torch
from scipy.stats import binom

from berth.models import create_model
from berth.quant.bits import to_words
from berth.quant.faults import RandomBitErrors
from berth.quant.inject import model_codes, use_codes


def resnet(seed: int = 0, scheme: str = "rquant"):
    return create_model("resnet20", width=4, in_channels=3, input_size=8, scheme=scheme, bits=8, seed=seed).eval()


def flips(clean, corrupted, name) -> np.ndarray:
    """Per word, the bits a chip flipped in tensor ``name``."""
    qt = clean[name]
    return to_words(qt.codes, qt.bits) ^ to_words(corrupted[name].codes, qt.bits)


def test_all_parameters_are_stored_in_parameter_order():
    model = resnet()
    codes = model_codes(model, "all")
    assert list(codes) == [n for n, _ in model.named_parameters()]
    weights = model_codes(model)
    for layer, qt in weights.items():
        assert np.array_equal(codes[f"{layer}.weight"].codes, qt.codes)
    assert sum(qt.codes.size for qt in codes.values()) == sum(p.numel() for p in model.parameters())


def test_clipping_leaves_biases_and_norm_parameters_their_range():
    """Training clips layer weights only: stored biases and normalization parameters keep their
    own range, so the clean model computes as trained."""
    model = resnet(scheme="clipping")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bn" in name:
                p.add_(0.5)
    codes = model_codes(model, "all")
    for name, p in model.named_parameters():
        if "bn" in name:
            values = codes[name].dequantize()
            assert values.max() > 0.1 and np.abs(values - p.detach().numpy()).max() <= 0.5 * codes[name].scale + 1e-6


def test_all_parameter_chips_flip_biases_and_norm_parameters_at_rate_p():
    model = resnet()
    clean = model_codes(model, "all")
    weight_names = {f"{layer}.weight" for layer in model_codes(model)}
    others = [n for n in clean if n not in weight_names]
    assert any(n.endswith("bias") for n in others) and any("bn" in n for n in others)
    p, total, flipped = 0.05, 0, 0
    for chip in range(8):
        corrupted = RandomBitErrors(p, chip=chip, addressing="position").perturb(clean)
        for name in others:
            total += clean[name].codes.size * clean[name].bits
            flipped += sum(bin(int(w)).count("1") for w in flips(clean, corrupted, name).reshape(-1))
    lo, hi = binom.ppf(1e-4, total, p), binom.ppf(1 - 1e-4, total, p)
    assert lo <= flipped <= hi, (flipped, total * p)


def test_corrupted_biases_and_norms_change_the_output_and_are_put_back():
    model = resnet()
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    clean = model_codes(model, "all")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    reference = model(x)
    weight_names = {f"{layer}.weight" for layer in model_codes(model)}
    corrupted = RandomBitErrors(0.2, chip=1, addressing="position").perturb(clean)
    others = {n: qt for n, qt in corrupted.items() if n not in weight_names}
    with use_codes(model, others):
        assert not torch.allclose(model(x), reference)
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())
    assert torch.equal(model(x), reference)


def masks(tensors, addressing: str) -> dict[str, np.ndarray]:
    corrupted = RandomBitErrors(0.05, chip=7, addressing=addressing).perturb(tensors)
    return {n: flips(tensors, corrupted, n) for n in tensors}


@pytest.mark.parametrize("drawn", [False, True])
def test_position_addressed_chips_follow_the_layout_not_the_names(drawn):
    a, b = model_codes(resnet(0), "all"), model_codes(resnet(1), "all")
    assert any(not np.array_equal(a[n].codes, b[n].codes) for n in a), "two different models"
    renamed = {f"t{i}": qt for i, qt in enumerate(b.values())}
    inserted = {"extra": a["conv1.weight"], **a}

    def chip_masks(tensors, addressing):
        if not drawn:
            return masks(tensors, addressing)
        chip = RandomBitErrors(0.1, chip=7, addressing=addressing).draw(tensors).at(0.05)
        corrupted = chip.perturb(tensors)
        return {n: flips(tensors, corrupted, n) for n in tensors}

    pos_a, pos_renamed = chip_masks(a, "position"), chip_masks(renamed, "position")
    assert all(np.array_equal(m, pos_renamed[f"t{i}"]) for i, m in enumerate(pos_a.values()))
    pos_inserted = chip_masks(inserted, "position")
    assert all(not np.array_equal(pos_a[n], pos_inserted[n]) for n in a)
    # keyed by name: the inserted tensor changes nothing, renaming changes everything
    name_a, name_inserted = chip_masks(a, "name"), chip_masks(inserted, "name")
    assert all(np.array_equal(name_a[n], name_inserted[n]) for n in a)
    name_renamed = chip_masks(renamed, "name")
    assert not any(np.array_equal(m, name_renamed[f"t{i}"]) for i, m in enumerate(name_a.values()) if m.any())
