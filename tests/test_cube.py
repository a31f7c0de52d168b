"""Spectral cubes: reading (spectral-cube, per-channel beams), bad cubes, and cube products."""

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import QTable

from astro_i2i import InputError
from astro_i2i.io import is_cube, read_cube

from .conftest import MAJORS, NCHAN, celestial_header, make_data, write_cube

def test_read_cube_per_channel_beams(tmp_path):
    path = write_cube(tmp_path / "cube.fits")
    assert is_cube(path)
    cube = read_cube(path)
    assert cube.shape == (NCHAN, 64, 64)
    np.testing.assert_allclose([b.major.to_value(u.arcsec) for b in cube.beams], MAJORS, rtol=1e-6)
    assert cube.spectral_axis.unit == u.Hz and cube.spectral_axis[1] - cube.spectral_axis[0] == 1.875e9 * u.Hz
    image = cube.channel(2)
    assert image.data.shape == (64, 64) and image.beam.major.to_value(u.arcsec) == pytest.approx(0.91)
    assert image.frequency.to_value(u.GHz) == pytest.approx(233.75)
    assert "channel 2" in image.name
    # Read from the file alone, it is the plane spectral-cube gives.
    np.testing.assert_array_equal(image.data, np.asarray(cube.cube.unmasked_data[2], dtype=np.float32))


def test_bad_cubes_get_one_line_errors(tmp_path, write_image, capsys):
    with pytest.raises(InputError, match="STOKES axis with 2 planes"):
        read_cube(write_cube(tmp_path / "stokes.fits", stokes=2))
    with pytest.raises(InputError, match="no spectral axis"):
        read_cube(write_image())
    with pytest.raises(InputError, match="BEAMS table has 3 rows but the cube has 4 channels"):
        read_cube(write_cube(tmp_path / "beams.fits", beams_rows=3))
    from astro_i2i.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["reconstruct", str(tmp_path / "beams.fits"), "-o", str(tmp_path / "out.fits")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "BEAMS table has 3 rows" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.fits").exists()


torch = pytest.importorskip("torch")


def test_cube_product_keeps_spectral_wcs_and_beams(tmp_path, capsys):
    from spectral_cube import SpectralCube

    from astro_i2i import Reconstructor
    from astro_i2i.cli import main
    from astro_i2i.exceptions import ChannelWarning

    path = write_cube(tmp_path / "cube.fits", zero_channel=1)
    reconstructor = Reconstructor.from_pretrained()
    with pytest.warns(ChannelWarning, match="channel 1 is all zero"):
        memory = reconstructor.reconstruct(path, samples=2)
    assert memory.sky.shape == (NCHAN, 64, 64) and memory.uncertainty.shape == (NCHAN, 64, 64)
    assert np.isnan(memory.sky[1]).all() and np.isfinite(memory.sky[0]).any()
    # Written a channel at a time or all at once: the same file content.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChannelWarning)
        streamed = reconstructor.reconstruct_cube(path, tmp_path / "streamed.fits", samples=2, block=1)
    memory.write(tmp_path / "memory.fits")
    with fits.open(streamed) as a, fits.open(tmp_path / "memory.fits") as b:
        assert [h.name for h in a] == ["SKY", "UNCERTAINTY", "STYLE", "BEAMS", "CATALOG", "CATALOG_SOURCES"]
        for name in ("SKY", "UNCERTAINTY", "STYLE"):
            np.testing.assert_array_equal(a[name].data, b[name].data)
        assert a["STYLE"].data.shape[0] == NCHAN and a["SKY"].header["CTYPE3"] == "FREQ"
    # Each channel is the 2-D reconstruction of that channel with its own beam and seed + channel.
    single = reconstructor.reconstruct(read_cube(path).channel(2), samples=2, seed=2)
    np.testing.assert_array_equal(memory.sky[2], single.sky)
    product = SpectralCube.read(streamed, hdu=0)
    original = SpectralCube.read(path)
    np.testing.assert_allclose(product.spectral_axis.value, original.spectral_axis.value)
    np.testing.assert_allclose([b.major.to_value(u.arcsec) for b in product.beams], MAJORS, rtol=1e-6)
    catalog = QTable.read(streamed, hdu="CATALOG")
    sources = QTable.read(streamed, hdu="CATALOG_SOURCES")
    assert {"channel", "freq"} <= set(catalog.colnames) and catalog["freq"].unit == u.GHz
    assert 1 not in set(catalog["channel"])
    # The bright source is found in the three non-zero channels and merged into one.
    bright = sources[np.argmax(sources["flux_peak"])]
    assert bright["n_channels"] == 3 and bright["peak_channel"] == 3
    assert bright["flux_integrated"].unit == u.Jy * u.Hz

    with pytest.raises(SystemExit) as exit_info:
        main(["info", str(path)])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "x 4 channels" in out and "per channel (BEAMS table)" in out


def test_velocity_cube_with_stokes_first(tmp_path):
    """A VRAD axis in km/s, a degenerate STOKES axis before it, one beam in the header."""
    from spectral_cube import SpectralCube

    from astro_i2i import Reconstructor

    header, _ = celestial_header(64, axes="swapped")  # RA, DEC, STOKES, FREQ
    header.update({"CTYPE4": "VRAD", "CRVAL4": 12.0, "CDELT4": -2.5, "CRPIX4": 1.0, "CUNIT4": "km/s",
                   "SPECSYS": "LSRK", "RESTFRQ": 230.538e9})  # fmt: skip
    yy, xx = np.mgrid[:64, :64]
    source = 8e-4 * np.exp(-((xx - 30) ** 2 + (yy - 36) ** 2) / (2 * 3.6**2))
    data = np.stack([make_data((64, 64), seed=k) + source for k in range(3)])[:, np.newaxis].astype(np.float32)
    path = tmp_path / "velo.fits"
    fits.PrimaryHDU(data, header=header).writeto(path)
    cube = read_cube(path)
    assert cube.shape == (3, 64, 64)
    assert cube.channel(2).beam.major.to_value(u.arcsec) == pytest.approx(0.89)
    np.testing.assert_allclose(cube.spectral_axis.to_value(u.km / u.s), [12.0, 9.5, 7.0])
    np.testing.assert_array_equal(cube.channel(1).data, data[1, 0])
    out = Reconstructor.from_pretrained().reconstruct_cube(path, tmp_path / "velo_i2i.fits", samples=2)
    product = SpectralCube.read(out, hdu=0)
    np.testing.assert_allclose(product.spectral_axis.to_value(u.km / u.s), [12.0, 9.5, 7.0])
    assert product.shape == (3, 64, 64)
    catalog = QTable.read(out, hdu="CATALOG")
    assert "velocity" in catalog.colnames and catalog["velocity"].unit == u.km / u.s
    assert set(np.round(catalog["velocity"].to_value(u.km / u.s), 3)) <= {12.0, 9.5, 7.0}
    sources = QTable.read(out, hdu="CATALOG_SOURCES")
    assert sources["flux_integrated"].unit == u.Jy * u.km / u.s and sources["peak_velocity"].unit == u.km / u.s
    assert np.max(sources["n_channels"]) == 3  # the source is in every channel


def test_a_bright_source_is_warned_about_once_per_cube(tmp_path):
    from astro_i2i import Reconstructor
    from astro_i2i.exceptions import BrightSourceWarning

    # 0.5 Jy and up: CLEANed first (no longer the network's), but beyond the fields on which the CLEANed
    # entries' errors were calibrated (0.5-100 mJy).
    path = write_cube(tmp_path / "bright.fits", peak=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Reconstructor.from_pretrained().reconstruct(path, samples=1)
    bright = [str(w.message) for w in caught if issubclass(w.category, BrightSourceWarning)]
    assert len(bright) == 1 and "bright.fits (channel 0): a CLEANed source of" in bright[0], bright
