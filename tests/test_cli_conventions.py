"""Conventions every command shares: help that runs, resolved settings printed as TOML that read
back to the same settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from berth.cli import build_parser, command_modules


def berth(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def subcommands() -> list[list[str]]:
    """Every command and sub-subcommand, as argv prefixes."""
    out = []
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():
        nested = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        out += [[name, child] for child in nested[0].choices] if nested else [[name]]
    return out


def test_every_command_module_registers_a_command() -> None:
    assert {c[0] for c in subcommands()} == {m for m in command_modules() if m != "common"}


@pytest.mark.parametrize("argv", subcommands(), ids=" ".join)
def test_help_of_every_command(argv: list[str]) -> None:
    res = berth(*argv, "--help")
    assert res.returncode == 0 and "usage:" in res.stdout and "Traceback" not in res.stderr


@pytest.mark.parametrize("argv", [["eval"], ["train"], ["search"], ["hls", "export", "mlp", "--out", "x"]], ids=" ".join)
def test_print_config_reads_back_to_the_same_settings(tmp_path: Path, argv: list[str]) -> None:
    first = berth(*argv, "--set", "data_seed=3" if argv[0] == "hls" else "seed=3" if argv[0] in ("eval", "search")
                  else "train.seed=3", "--print-config", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (tmp_path / "cfg.toml").write_text(first.stdout)
    again = berth(*argv, "--config", str(tmp_path / "cfg.toml"), "--print-config", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == first.stdout and "= 3" in first.stdout
    assert not (tmp_path / "x").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("setting, words", [
    ("chips=ten", ["--set chips=ten", "chips = 'ten'", "int"]),
    ("chipz=3", ["--set chipz=3", "did you mean 'chips'?"]),
])
def test_an_override_error_names_the_flag_and_the_nearest_key(setting: str, words: list[str]) -> None:
    res = berth("eval", "--set", setting)
    line = res.stderr.strip()
    assert res.returncode == 2 and "\n" not in line and all(w in line for w in words), line


DOCUMENTED = ["eval", "train", "search", "sweep", "hls export"]


@pytest.mark.parametrize("command", DOCUMENTED)
def test_every_config_key_is_in_the_reference_with_a_meaning(command: str) -> None:
    import dataclasses

    from berth.commands.config import config_class
    from berth.core.config import reference

    cls = config_class(command)
    rows = {r["key"]: r for r in reference(cls)}
    top = {f.name for f in dataclasses.fields(cls)}
    assert top <= {k.split(".")[0] for k in rows}
    assert [k for k, r in rows.items() if not r["meaning"]] == []
    res = berth("config", *command.split())
    assert res.returncode == 0 and all(k in res.stdout for k in rows)


def required_args(argv: list[str]) -> list[str]:
    """Placeholder values for the arguments a command requires (its own first choice, or 1)."""
    from berth.cli import leaf_parsers

    leaf = next(p for p in leaf_parsers(build_parser()) if p.prog.split()[1:] == argv)
    out = []
    for action in leaf._actions:
        if not action.required:
            continue
        value = str(next(iter(action.choices))) if action.choices else "1"
        out += ([action.option_strings[0]] if action.option_strings else []) + [value]
    return out


@pytest.mark.parametrize("argv", subcommands(), ids=" ".join)
def test_print_config_of_every_command(tmp_path: Path, argv: list[str]) -> None:
    res = berth(*argv, *required_args(argv), "--print-config", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert list(tmp_path.iterdir()) == []  # printing the settings does nothing else
