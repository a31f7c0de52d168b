"""Issue 27, items 10-13: batch and single-file paths, messages, terminal output, --workers."""

import sys

import numpy as np
import pytest
from astropy.io import fits

from astro_i2i.cli import main

from .conftest import celestial_header, make_data

torch = pytest.importorskip("torch")

from .test_inference import model_paths  # noqa: E402, F401  (the small test models)
from .test_outputs import _run  # noqa: E402  (the CLI runner)




def _one_error_line(err, *words):
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], (word, err)


def _field(path, n=64, seed=0):
    header, shape = celestial_header(n)
    fits.PrimaryHDU(make_data(shape, seed=seed), header=header).writeto(path)
    return path


@pytest.fixture
def fields(tmp_path):
    (tmp_path / "in").mkdir()
    return [_field(tmp_path / "in" / f"field{k}.fits", seed=k) for k in range(2)]


# --------------------------------------------------------------------------- item 10: batch and single-file paths


def test_output_names_are_checked(model_paths, fields, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = ["--model", model_paths["two_to_one"], "-k", "1", "--no-progress"]
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, words in (([*fields, "-o", "two.fits"], ["-o", "two.fits", "OUTDIR/"]),
                        ([fields[0], "-o", "out.png"], ["-o", "out.png", ".fits"]),
                        ([fields[0], "--quicklook", "q3.jpg"], ["--quicklook", "q3.jpg", ".png"])):
        assert _run(["reconstruct", *args, *model]) == 2, args
        _one_error_line(capsys.readouterr().err, *words)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, args


def test_skip_existing_with_one_file(model_paths, fields, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    product = tmp_path / "field0_i2i.fits"
    product.write_bytes(b"made before")
    assert _run(["reconstruct", fields[0], "--model", model_paths["two_to_one"], "--no-progress",
                 "--skip-existing"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "skipped" in out and "--skip-existing" in out and "field0_i2i.fits" in out
    assert product.read_bytes() == b"made before"


def test_batch_summary_uses_flags_and_counts_sources(model_paths, fields, tmp_path, capsys):
    model = ["--model", model_paths["two_to_one"], "-k", "1", "--no-progress"]
    outdir = tmp_path / "out"
    assert _run(["reconstruct", *fields, "-o", f"{outdir}/", *model]) == 0
    out = capsys.readouterr().out
    for k in range(2):
        assert f"field{k}_i2i.fits: " in out and "source(s)" in out, out
    # Again without --skip-existing: each fails, and the line names the flags, not keywords.
    assert _run(["reconstruct", *fields, "-o", f"{outdir}/", *model]) == 1
    out = capsys.readouterr().out
    assert "overwrite=True" not in out and "--overwrite" in out and "--skip-existing" in out, out
    # All exist, with --skip-existing: the line says so and names the flag.
    assert _run(["reconstruct", *fields, "-o", f"{outdir}/", *model, "--skip-existing"]) == 0
    out = capsys.readouterr().out
    assert "all 2 products exist" in out and "--skip-existing" in out, out


def test_many_summary_translates_keywords():
    from astro_i2i.cli._reconstruct import many_summary
    from astro_i2i.reconstruct.many import ManyResult

    result = ManyResult(failed=[("a.fits", "looks like a PSF; use force=True to go on")])
    (line,) = many_summary(result, 1)
    assert "--force" in line and "force=True" not in line


# --------------------------------------------------------------------------- item 11: messages


def test_truncated_files_give_one_line(tmp_path, capsys):
    header, shape = celestial_header(512, axes="casa")
    full = tmp_path / "full.fits"
    fits.PrimaryHDU(make_data(shape), header=header).writeto(full)
    data = full.read_bytes()
    (tmp_path / "trunc_data.fits").write_bytes(data[: 2880 + 119240 * 4])
    (tmp_path / "trunc_head.fits").write_bytes(data[:1000])
    for name in ("trunc_data.fits", "trunc_head.fits"):
        with pytest.raises(SystemExit) as exit_info:
            main(["info", str(tmp_path / name)])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], err
        assert "reshape" not in err


def test_casa_image_directory_names_exportfits(tmp_path, capsys):
    image = tmp_path / "target.image"
    image.mkdir()
    (image / "table.dat").write_bytes(b"")
    assert _run(["info", image]) == 2
    _one_error_line(capsys.readouterr().err, "target.image", "CASA image directory", "exportfits")


def test_beam_in_degrees_is_printed_with_its_digits(tmp_path, capsys):
    path = _field(tmp_path / "d.fits")
    assert _run(["info", path, "--beam", "0.00025,0.0002,0"]) == 0
    out, err = capsys.readouterr()
    assert '0.000"' not in out + err and '0.00025"' in out, out + err


def test_primary_beam_given_as_psf(model_paths, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _field(tmp_path / "d.fits")
    header, _ = celestial_header(64)
    del header["BUNIT"]
    yy, xx = np.mgrid[:64, :64]
    pb = np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / (2 * 20.0**2)).astype(np.float32)
    fits.PrimaryHDU(pb, header=header).writeto(tmp_path / "pb.fits")
    assert _run(["reconstruct", path, "--psf", "pb.fits", "--model", model_paths["two_to_one"],
                 "--no-progress"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    _one_error_line(err, "pb.fits", "primary beam", "--pb")
    assert "adapt" not in err and "d.fits" not in err.splitlines()[-1].split(":")[1]


# --------------------------------------------------------------------------- items 12, 13: terminal output, workers


def test_wrote_lines_do_not_break_the_bar(model_paths, fields, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert _run(["reconstruct", *fields, "-o", f"{tmp_path / 'out'}/", "--model", model_paths["two_to_one"],
                 "-k", "1"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    wrote = [line for line in err.split("\n") if "info: wrote" in line]
    assert wrote, err
    for line in wrote:
        assert line.split("\r")[-1].startswith("info: wrote"), repr(line)
    assert "2/2" in err and ("file/s" in err or "s/file" in err), err
    assert "plane" not in err


def test_workers_help_and_serial_default(capsys, monkeypatch):
    assert _run(["reconstruct", "-h"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "slower than serial" in text and "default: none, serial" in text
