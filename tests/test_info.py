"""``astro-i2i info`` describes each kind of file for what it is (issue 27, item 9)."""

import numpy as np
import pytest
from astropy import units as u
from astropy.table import QTable

from astro_i2i.cli import main
from astro_i2i.io import read_image, write_products

from .test_inference import model_paths  # noqa: F401


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _radius(n=64):
    yy, xx = np.mgrid[:n, :n]
    return np.hypot(xx - n / 2, yy - n / 2)  # the reference pixel (CRPIX n/2 + 1) is 0-based n/2


def test_info_on_a_product_file(write_image, tmp_path, capsys):
    dirty = read_image(write_image())
    sky = np.zeros(dirty.data.shape, np.float32)
    sky[32, 32] = 2e-3
    catalog = QTable({"ra": [150.1] * 3 * u.deg, "dec": [2.2] * 3 * u.deg, "flux": [1.0, 2.0, 3.0] * u.mJy})
    path = write_products(tmp_path / "dirty_i2i.fits", sky, image=dirty, uncertainty=np.full_like(sky, 1e-6),
                          style=np.zeros((2, 8, 8), np.float32), catalog=catalog,
                          provenance={"model": "two_to_one", "samples": 8, "seed": 42, "input": "dirty.fits",
                                      "min_reliability": 0.5})  # fmt: skip
    code, out, err = run_cli(["info", path], capsys)
    assert code == 0, err
    assert "--hdu" not in err and "error" not in err
    assert "astro-i2i product" in out
    assert "SKY 64 x 64" in out and "UNCERTAINTY" in out and "STYLE" in out and "CATALOG 3 rows" in out
    assert "two_to_one" in out and "samples:     8, seed 42" in out and "sources:     3" in out
    assert "input:       dirty.fits" in out
    assert "total 2 mJy" in out
    assert len(out.splitlines()) <= 12


def test_info_on_a_sky_model(write_image, capsys):
    data = np.zeros((64, 64), np.float32)
    data[30, 30], data[20, 40] = 1e-3, 5e-4
    path = write_image("sky.fits", bunit="Jy/pixel", beam=False, data=data)
    code, out, err = run_cli(["info", path], capsys)
    assert code == 0, err
    assert "error" not in err
    assert "sky model" in out and "64 x 64 pixels" in out and "0.1 arcsec" in out
    assert "total flux:  1.5 mJy" in out and "Jy/pixel" in out
    assert "Jy/beam" not in out


def test_info_on_a_psf(write_image, capsys):
    r = _radius()
    sigma = 0.85 / 0.1 / np.sqrt(8 * np.log(2))  # a 0.85" round main lobe at 0.1"/pixel
    psf = (np.exp(-r**2 / (2 * sigma**2)) - 0.1 * np.sin(r / 4) ** 2 * (r > 2 * sigma)).astype(np.float32)
    psf[32, 32] = 1.0
    path = write_image("dirty.psf.fits", bunit=None, beam=False, data=psf)
    code, out, err = run_cli(["info", path], capsys)
    assert code == 0, err
    assert "assuming Jy/beam" not in err and "noise" not in out and "uJy/beam" not in out
    assert "PSF" in out and "64 x 64 pixels" in out
    line = next(line for line in out.splitlines() if line.startswith("main lobe:"))
    major = float(line.split()[2].rstrip('"'))
    assert major == pytest.approx(0.85, rel=0.05)
    assert "peak:        1 at 0-based pixel (32, 32)" in out


def test_info_on_a_primary_beam(write_image, capsys):
    sigma = 40 / np.sqrt(8 * np.log(2))  # FWHM 40 pixels = 4"
    pb = np.exp(-_radius() ** 2 / (2 * sigma**2)).astype(np.float32)
    path = write_image("dirty.pb.fits", bunit=None, beam=False, data=pb)
    code, out, err = run_cli(["info", path], capsys)
    assert code == 0, err
    assert "assuming Jy/beam" not in err and "uJy/beam" not in out
    assert "primary beam" in out and "peak:        1 at 0-based pixel (32, 32)" in out
    line = next(line for line in out.splitlines() if line.startswith("radius:"))
    half, fifth = (float(word.rstrip('"')) for word in (line.split()[1], line.split()[7]))
    assert half == pytest.approx(2.0, abs=0.15)
    assert fifth == pytest.approx(sigma * np.sqrt(2 * np.log(5)) * 0.1, abs=0.15)


def test_info_on_a_dirty_image_is_unchanged(write_image, capsys):
    code, out, _ = run_cli(["info", write_image()], capsys)
    assert code == 0 and "noise (MAD):" in out and "beam:        0.890\"" in out
    code, out, err = run_cli(["info", write_image("nounit.fits", bunit=None)], capsys)
    assert code == 0 and "no BUNIT" in err and "noise (MAD):" in out


def test_info_on_a_checkpoint(model_paths, capsys):  # noqa: F811
    code, out, err = run_cli(["info", model_paths["two_to_one"]], capsys)
    assert code == 0, err
    assert "TwoToOne" in out or "two_to_one" in out
    assert "beam:        0.89\" x 0.82\", PA 82 deg" in out and "grid:        64 x 64 at 0.1\"" in out
    assert "frequency:" in out and "metrics:" in out


def test_info_on_a_damaged_product_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.fits"
    path.write_bytes(b"not fits at all" * 300)
    code, _, err = run_cli(["info", path], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "bad.fits" in err


def test_info_on_a_checkpoint_says_where_its_coverage_was_measured(capsys):
    # Issue 27 item 15: info reported 95.0 % where the README says 94.8 % (the test set's) without saying which.
    from astro_i2i.data import model_path

    code, out, err = run_cli(["info", model_path("two_to_one")], capsys)
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("uncertainty:"))
    assert "calibration images" in line and "docs/models.rst" in line
