"""``berth bm hls | denoise | study`` through berth's own argument parser, handlers called directly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from berth.cli import build_parser
from berth.core.errors import BerthError
from berth.hardware.bm3d.study import centre_crop
from berth.hardware.bm3d import sample_photo


def bm(*argv: str) -> int:
    args = build_parser().parse_args(["bm", *argv])
    return args.handler(args)


@pytest.fixture
def photo_png(tmp_path):
    path = tmp_path / "flower.png"
    Image.fromarray(centre_crop(sample_photo("flower"), 48)).save(path)
    return path


def test_denoise_writes_png_and_psnr(tmp_path, photo_png, capsys):
    out = tmp_path / "den"
    assert bm("denoise", str(photo_png), "--sigma", "25", "--window", "9", "--out", str(out)) == 0
    record = json.loads((out / "result.json").read_text())
    assert record["psnr_db"] > record["noisy_db"] + 2 and record["seed"] == 0
    assert Image.open(out / "denoised.png").mode == "L" and "PSNR" in capsys.readouterr().out
    assert bm("denoise", str(out / "noisy.png"), "--sigma", "25", "--noisy", "--window", "9",
              "--out", str(tmp_path / "den2")) == 0
    assert "psnr_db" not in json.loads((tmp_path / "den2" / "result.json").read_text())


@pytest.mark.parametrize("value", ["0", "-3", "inf", "nan", "1e20"])
@pytest.mark.parametrize("command", ["denoise", "study"])
def test_bad_sigma_is_refused_by_the_parser(photo_png, command, value, capsys):
    argv = [str(photo_png)] if command == "denoise" else []
    with pytest.raises(SystemExit):
        bm(command, *argv, "--sigma", value)
    assert f"argument --sigma: {value} is not allowed; allowed: numbers in (0, 255]" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["match", "denoise", "study"])
def test_a_negative_seed_is_refused_by_the_parser(photo_png, command, capsys):
    argv = {"match": [str(photo_png)], "denoise": [str(photo_png), "--sigma", "10"], "study": []}[command]
    with pytest.raises(SystemExit):
        bm(command, *argv, "--seed", "-1")
    assert "argument --seed: -1 is not allowed; allowed: integers 0..4294967295" in capsys.readouterr().err


def test_denoise_bad_image(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(BerthError, match="not a readable image"):
        bm("denoise", str(tmp_path / "a.png"), "--sigma", "10")
    Image.fromarray(np.full((16, 16), 40000, np.uint16)).save(tmp_path / "b.png")
    with pytest.raises(BerthError, match="pixel mode"):
        bm("denoise", str(tmp_path / "b.png"), "--sigma", "10")


def test_hls_refuses_foreign_directory_and_bad_params(tmp_path, photo_png):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(BerthError, match="not a berth project"):
        bm("hls", "--out", str(tmp_path / "mine"), "--image", str(photo_png))
    with pytest.raises(BerthError, match="must be odd"):
        bm("hls", "--out", str(tmp_path / "p"), "--image", str(photo_png), "--window", "8")
    assert not (tmp_path / "p").exists()


@pytest.mark.hls
def test_hls_project_csim_bit_exact(tmp_path, photo_png, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no vendor tool: synthesis is skipped and says why
    out = tmp_path / "prj"
    assert bm("hls", "--out", str(out), "--image", str(photo_png), "--window", "7", "--k", "8",
              "--metric", "sad", "--tau", "2000") == 0
    text = capsys.readouterr().out
    assert "bit-exact to the golden model" in text and "synthesis skipped" in text and "vitis-run" in text
    assert json.loads((out / "results" / "csim.json").read_text())["bit_exact"] is True
    with pytest.raises(BerthError, match="'vitis-run' or 'vitis_hls'"):
        bm("hls", "--out", str(out), "--image", str(photo_png), "--synth", "yes")


def test_study_writes_table_and_plots(tmp_path, capsys):
    out = tmp_path / "study"
    assert bm("study", "--photos", "china", "--crop", "40", "--p", "0", "0.05", "--chips", "1",
              "--resources", "no", "--out", str(out)) == 0
    data = json.loads((out / "study.json").read_text())
    assert len(data["variants"]) == 7 and data["variants"][0]["delta_db"] == 0
    assert {e["p"] for e in data["errors"]} == {0.0, 0.05}
    assert (out / "study.png").stat().st_size > 10_000 and (out / "errors.png").stat().st_size > 10_000
    assert "| SAD |" in (out / "study.md").read_text()
    with pytest.raises(BerthError, match="already exists"):
        bm("study", "--out", str(out))
    with pytest.raises(BerthError, match="bit error rate"):
        bm("study", "--p", "2", "--out", str(tmp_path / "s2"))
