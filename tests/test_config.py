"""Typed configuration: defaults < file < overrides, unknown keys and wrong types rejected."""

from dataclasses import dataclass, field

import pytest

from berth.core.config import load_config
from berth.core.errors import BerthError


@dataclass(frozen=True)
class Inner:
    epochs: int = 2
    lr: float = 0.1


@dataclass(frozen=True)
class Outer:
    name: str = "a"
    p: list[float] = field(default_factory=lambda: [0.1])
    inner: Inner = field(default_factory=Inner)
    w_max: float | None = None


def test_precedence(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "file"\n[inner]\nepochs = 5\n')
    cfg = load_config(Outer, path, ["inner.lr=0.5", "p=[0.01, 0.02]", "w_max=1"])
    assert cfg == Outer(name="file", p=[0.01, 0.02], inner=Inner(epochs=5, lr=0.5), w_max=1.0)
    assert load_config(Outer) == Outer()


@pytest.mark.parametrize("override,needle", [("nme=x", "'nme'"), ("inner.epochs=1.5", "inner.epochs"),
                                             ("p=3", "must be a list"), ("inner.lrr=1", "'lrr'")])
def test_errors_name_the_key(override, needle):
    with pytest.raises(BerthError, match=needle):
        load_config(Outer, None, [override])


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("x = = 1")
    with pytest.raises(BerthError, match="not valid TOML"):
        load_config(Outer, bad)
    with pytest.raises(BerthError, match="does not exist"):
        load_config(Outer, tmp_path / "none.toml")


@pytest.mark.parametrize("text, line, needle", [
    ('name = "a"\np = 3\n', 2, "p = 3 must be a list"),
    ('name = "a"\n\n[inner]\nlr = 0.1\nepochz = 3\n', 5, "unknown key 'epochz'"),
    ('inner = { epochs = "two" }\n', 1, "inner.epochs = 'two'"),
    ('# a comment\nnmae = "x"\n', 2, "did you mean 'name'"),
])
def test_a_file_error_names_the_line(tmp_path, text, line, needle):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(BerthError) as info:
        load_config(Outer, path)
    assert str(info.value).startswith(f"{path}:{line}: ") and needle in str(info.value)


def test_a_sweep_file_error_names_the_line_of_the_right_table(tmp_path):
    from berth.flows.sweep import load_sweep

    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[[variants]]\nname = "a"\nscheme = "rquant"\n'
                    '[[variants]]\nname = "b"\nscheme = "nope"\n')
    with pytest.raises(BerthError, match=rf"^{path}:7: variants\[1\].scheme = 'nope'"):
        load_sweep(path)
