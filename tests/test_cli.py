import gzip
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from astro_i2i.cli import main

from .conftest import REFERENCE, celestial_header, make_data


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def _bad_inputs(tmp_path, write_image):
    """name -> (path, expected fragment) for every bad input of issue 2."""
    cases = {}
    cases["nonexistent"] = (tmp_path / "missing.fits", "file not found")
    not_fits = tmp_path / "readme.fits"
    not_fits.write_text("not a fits file\n")
    cases["not_fits"] = (not_fits, "not a FITS file")
    good = write_image("good.fits")
    cut = tmp_path / "cut.fits"
    cut.write_bytes(good.read_bytes()[:5000])
    cases["truncated"] = (cut, "truncated")
    table_only = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])])]).writeto(table_only)
    cases["no_image_hdu"] = (table_only, "no image HDU")
    header, shape = celestial_header(16)
    two = tmp_path / "two.fits"
    fits.HDUList([fits.PrimaryHDU(make_data(shape), header=header), fits.ImageHDU(make_data(shape), header=header)]).writeto(two)
    cases["several_hdus"] = (two, "several image HDUs")
    one_d = tmp_path / "oned.fits"
    fits.PrimaryHDU(np.ones(8, np.float32)).writeto(one_d)
    cases["one_d"] = (one_d, "1-D")
    # A cube is read (astro-i2i takes cubes), but not one with two Stokes planes.
    cases["cube"] = (write_image("cube.fits", axes="casa", data=make_data((2, 3, 64, 64))), "STOKES axis with 2 planes")
    no_wcs = tmp_path / "nowcs.fits"
    fits.PrimaryHDU(make_data((16, 16)), header=fits.Header({"BUNIT": "Jy/beam"})).writeto(no_wcs)
    cases["no_wcs"] = (no_wcs, "no celestial WCS")
    linear = tmp_path / "linear.fits"
    fits.PrimaryHDU(make_data((16, 16)), header=fits.Header({"CTYPE1": "X", "CTYPE2": "Y"})).writeto(linear)
    cases["non_celestial"] = (linear, "no celestial WCS")
    cases["all_nan"] = (write_image("nan.fits", data=np.full((64, 64), np.nan, np.float32)), "all pixels are blank")
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    cases["empty_file"] = (empty, empty.name)
    return cases


CASES = ["nonexistent", "not_fits", "truncated", "no_image_hdu", "several_hdus", "one_d", "cube", "no_wcs",
         "non_celestial", "all_nan", "empty_file"]  # fmt: skip  (a Jy/pixel sky model is described: test_info.py)


@pytest.mark.parametrize("case", CASES)
def test_info_bad_input(case, tmp_path, write_image, capsys):
    path, fragment = _bad_inputs(tmp_path, write_image)[case]
    code, out, err = run_cli(["info", path], capsys)
    assert_one_line_error(code, err, str(path), fragment)
    assert out == ""


def test_info_good_inputs(write_image, tmp_path, capsys):
    casa = write_image("casa.fits", axes="casa")
    code, out, _ = run_cli(["info", casa], capsys)
    assert code == 0
    assert "64 x 64 pixels" in out and "0.1 arcsec" in out and "230.0000 GHz" in out
    assert '0.890" x 0.820", PA 82.0 deg (from header' in out
    gz = tmp_path / "casa.fits.gz"
    gz.write_bytes(gzip.compress(casa.read_bytes()))
    assert run_cli(["info", gz], capsys)[0] == 0
    swapped = write_image("swapped.fits", axes="swapped", beam=False)
    code, out, err = run_cli(["info", swapped], capsys)
    assert code == 0 and "beam:        none" in out


def test_info_hdu_option(tmp_path, capsys):
    header, shape = celestial_header(16)
    two = tmp_path / "two.fits"
    fits.HDUList([fits.PrimaryHDU(make_data(shape), header=header), fits.ImageHDU(make_data(shape), header=header, name="B")]).writeto(two)
    code, out, _ = run_cli(["info", two, "--hdu", "B"], capsys)
    assert code == 0 and "[HDU 1]" in out
    code, _, err = run_cli(["info", two, "--hdu", "7"], capsys)
    assert_one_line_error(code, err, "no HDU 7")


def test_bad_option_and_beam(dirty_path, capsys):
    code, _, err = run_cli(["info", dirty_path, "--bogus"], capsys)
    assert_one_line_error(code, err, "--bogus")
    code, _, err = run_cli(["info", dirty_path, "--beam", "wide"], capsys)
    assert_one_line_error(code, err, "--beam", "wide")


def test_missing_bunit_warns_on_stderr(write_image, capsys):
    code, out, err = run_cli(["info", write_image(bunit=None)], capsys)
    assert code == 0
    assert "warning:" in err and "no BUNIT" in err


def test_version_and_help(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and "astro-i2i" in out
    code, out, _ = run_cli(["-h"], capsys)
    assert code == 0 and "info" in out and "--log-level" in out and "--overwrite" in out


def test_help_does_not_import_torch():
    code = "import sys; from astro_i2i.cli import main\ntry:\n    main(['-h'])\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_console_script_exit_status(tmp_path):
    result = subprocess.run([sys.executable, "-m", "astro_i2i", "info", str(tmp_path / "x.fits")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'x.fits'}: file not found"


@pytest.mark.skipif(not REFERENCE.exists(), reason="no CASA reference images (set ASTRO_I2I_CASA_REFERENCE or put them in ../shared/reference/casa)")
def test_info_on_casa_reference(capsys):
    code, out, _ = run_cli(["info", REFERENCE / "dirty_000.fits"], capsys)
    assert code == 0
    assert "512 x 512" in out and "0.1 arcsec" in out and "230.0000 GHz" in out
    assert '0.891" x 0.825", PA 82.4 deg (from header' in out
    assert "150.542185, 2.749881 deg) at 0-based pixel (256, 256)" in out


def test_simulate_then_info(tmp_path, capsys):
    out = tmp_path / "sim"
    code, stdout, err = run_cli(["simulate", out, "--n", "2", "--seed", "4"], capsys)
    assert code == 0, err
    assert "wrote 2 images" in stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["config.yaml", "dirty_00000.fits", "dirty_00001.fits", "psf_00000.fits", "psf_00001.fits",
                     "sky_00000.fits", "sky_00001.fits", "truth.ecsv"]  # fmt: skip
    code, stdout, _ = run_cli(["info", out / "dirty_00001.fits"], capsys)
    assert code == 0 and "(from header" in stdout and "230.0000 GHz" in stdout
    # Existing output is kept without --overwrite; the group's --overwrite also works.
    code, _, err = run_cli(["simulate", out, "--n", "2", "--seed", "5"], capsys)
    assert_one_line_error(code, err, "output file exists")
    assert run_cli(["--overwrite", "simulate", out, "--n", "1", "--seed", "5"], capsys)[0] == 0


def test_simulate_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("noise:\n  rms: 1\n")
    code, _, err = run_cli(["simulate", tmp_path / "x", "--config", bad], capsys)
    assert_one_line_error(code, err, "bad.yaml", "unknown key(s) ['rms'] in 'noise'")
    assert not (tmp_path / "x").exists()
    code, _, err = run_cli(["simulate", tmp_path / "y", "--config", tmp_path / "missing.yaml"], capsys)
    assert_one_line_error(code, err, "missing.yaml: file not found")


def test_simulate_show_config(capsys):
    code, out, _ = run_cli(["simulate", "unused", "--show-config"], capsys)
    assert code == 0 and "rms_jy: 4.6e-05" in out and "array: alma.cycle5.3" in out


def test_example_paths(capsys):
    code, out, _ = run_cli(["example"], capsys)
    assert code == 0 and out.strip().endswith("example_dirty.fits.gz")
    code, out, _ = run_cli(["info", out.strip()], capsys)
    assert code == 0 and "512 x 512" in out
    code, _, err = run_cli(["example", "nonsense"], capsys)
    assert_one_line_error(code, err, "nonsense: no such example")


def test_reconstruct_help_says_how_good_the_model_is(capsys):
    code, out, _ = run_cli(["reconstruct", "-h"], capsys)
    assert code == 0 and "matched filter" in out and "docs/models.rst" in out
