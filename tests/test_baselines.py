"""The classical baselines that need no optional package: the matched filter's catalogue and its peak finder."""

import subprocess
import sys

import numpy as np
import pytest
from astropy import units as u
from astropy.wcs import WCS
from radio_beam import Beam

from astro_i2i.baselines import MATCHED_FILTER_COLUMNS, matched_filter_catalog
from astro_i2i.catalog import local_peaks, matched_filter_snr

PIXEL = 0.1 * u.arcsec
BEAM = Beam(0.85 * u.arcsec, 0.85 * u.arcsec, 0 * u.deg)  # circular: a source's dirty image is then a Gaussian
SOURCE_FWHM = 0.6  # arcsec, the catalogue's default source
FWHM_TO_SIGMA = 1 / np.sqrt(8 * np.log(2))


def _wcs(size):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [size / 2 + 1, size / 2 + 1]
    wcs.wcs.cdelt = [-PIXEL.to_value(u.deg), PIXEL.to_value(u.deg)]
    wcs.wcs.cunit = ["deg", "deg"]
    return wcs


def _dirty(sources, size=128, rms=0.0, pb=None, seed=0):
    """PB x (Gaussian source * Gaussian PSF of peak 1), analytically, plus white noise: Jy/beam.

    A Gaussian of ``flux`` Jy and width s seen through a circular beam of width b is
    ``flux b^2 / (s^2 + b^2)`` Jy/beam at its peak, of width sqrt(s^2 + b^2).
    """
    s2 = (SOURCE_FWHM * FWHM_TO_SIGMA / 0.1) ** 2
    b2 = (BEAM.major.to_value(u.arcsec) * FWHM_TO_SIGMA / 0.1) ** 2
    yy, xx = np.mgrid[:size, :size]
    image = np.zeros((size, size))
    for x0, y0, flux in sources:
        image += flux * b2 / (s2 + b2) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * (s2 + b2)))
    if pb is not None:
        image *= pb
    return image + np.random.default_rng(seed).normal(0, rms, image.shape)


def test_an_injected_source_is_found_where_it_is_with_its_flux():
    wcs = _wcs(128)
    dirty = _dirty([(70.3, 52.6, 1e-3)], rms=2e-5)
    catalog = matched_filter_catalog(dirty, wcs, beam=BEAM, nsigma=5.0)
    assert len(catalog) == 1
    row = catalog[0]
    # Position within 0.15 pixel (15 mas), flux within 3 % (white noise of 20 uJy/beam scatters it by about 0.4 %;
    # flux_err, which assumes the PSF-shaped noise of a dirty image, says 3 %).
    assert abs(row["x"].to_value(u.pix) - 70.3) < 0.15 and abs(row["y"].to_value(u.pix) - 52.6) < 0.15
    assert row["flux"].to_value(u.Jy) == pytest.approx(1e-3, rel=0.03)
    assert 0.01e-3 < row["flux_err"].to_value(u.Jy) < 0.05e-3
    ra, dec = wcs.pixel_to_world_values(row["x"].value, row["y"].value)
    assert row["ra"].to_value(u.deg) == pytest.approx(ra, abs=1e-9)
    assert row["dec"].to_value(u.deg) == pytest.approx(dec, abs=1e-9)
    assert row["mf_snr"] > 50 and row["id"] == 1 and row["primary_beam"] == 1
    assert catalog.meta["noise"] == pytest.approx(2e-5, rel=0.05) and catalog.meta["box_size"] == 7
    # photutils' 2-D quadratic centroid places it as well.
    quadratic = matched_filter_catalog(dirty, wcs, beam=BEAM, nsigma=5.0, centroid="quadratic")
    assert np.hypot(quadratic["x"][0].value - 70.3, quadratic["y"][0].value - 52.6) < 0.15
    # The pixel scale alone gives the same positions and fluxes, without sky coordinates.
    bare = matched_filter_catalog(dirty, pixel_scale=PIXEL, beam=BEAM, nsigma=5.0)
    assert "ra" not in bare.colnames and bare["x"][0] == row["x"] and bare["flux"][0] == row["flux"]


def test_rows_are_brightest_first_and_extra_scales_are_read_at_the_peak():
    dirty = _dirty([(30, 30, 3e-4), (90, 95, 9e-4), (40, 100, 6e-4)], rms=2e-5, seed=1)
    scales = (0.4 * u.arcsec, 0.8 * u.arcsec)
    catalog = matched_filter_catalog(dirty, _wcs(128), beam=BEAM, nsigma=5.0, scales=scales)
    assert len(catalog) == 3 and list(catalog["id"]) == [1, 2, 3]
    assert np.all(np.diff(np.asarray(catalog["mf_snr"])) < 0)
    np.testing.assert_allclose(catalog["flux"].to_value(u.Jy), [9e-4, 6e-4, 3e-4], rtol=0.05)
    assert [name for name in catalog.colnames if name.startswith("mf_0")] == ["mf_0.4", "mf_0.8"]
    snr = matched_filter_snr(dirty, pixel_scale=PIXEL, source_fwhm=0.4 * u.arcsec)
    ix, iy = np.rint(catalog["x"].value).astype(int), np.rint(catalog["y"].value).astype(int)
    np.testing.assert_allclose(catalog["mf_0.4"], snr[iy, ix])


def test_a_field_of_noise_gives_few_detections_at_a_high_threshold():
    noise = np.random.default_rng(2).normal(0, 5e-5, (256, 256))
    high = matched_filter_catalog(noise, _wcs(256), beam=BEAM, nsigma=6.0)
    assert len(high) <= 1
    low = matched_filter_catalog(noise, _wcs(256), beam=BEAM, nsigma=2.5)
    assert len(low) > 10 and np.all(np.asarray(low["mf_snr"]) > 2.5)
    # No peak: an empty catalogue that still has every column.
    empty = matched_filter_catalog(noise, _wcs(256), beam=BEAM, nsigma=50.0)
    assert len(empty) == 0 and set(MATCHED_FILTER_COLUMNS) <= set(empty.colnames)


def test_without_a_beam_the_fluxes_are_nan():
    catalog = matched_filter_catalog(_dirty([(64, 64, 1e-3)], rms=2e-5), pixel_scale=PIXEL, nsigma=5.0)
    assert len(catalog) == 1 and np.isnan(catalog["flux"][0]) and np.isnan(catalog["flux_err"][0])


def test_the_primary_beam_corrects_the_fluxes():
    yy, xx = np.mgrid[:128, :128]
    pb = np.exp(-((xx - 20) ** 2 + (yy - 20) ** 2) / (2 * 80.0**2))  # 0.61 at the source, varying across it
    dirty = _dirty([(70, 60, 1e-3)], rms=1e-5, pb=pb)
    corrected = matched_filter_catalog(dirty, _wcs(128), beam=BEAM, nsigma=5.0, primary_beam=pb)
    apparent = matched_filter_catalog(dirty, _wcs(128), beam=BEAM, nsigma=5.0)
    gain = pb[60, 70]
    assert corrected["flux"][0].to_value(u.Jy) == pytest.approx(1e-3, rel=0.03)
    assert apparent["flux"][0].to_value(u.Jy) == pytest.approx(1e-3 * gain, rel=0.03)
    assert corrected["primary_beam"][0] == pytest.approx(gain, rel=0.01) and apparent["primary_beam"][0] == 1


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"dirty": np.zeros((1, 64, 64))}, ValueError, r"2-D.*\(1, 64, 64\)"),
    ({"nsigma": "4"}, TypeError, "'4'"),
    ({"nsigma": np.nan}, ValueError, "nan"),
    ({"source_fwhm": 0.6}, TypeError, "0.6"),
    ({"source_fwhm": -0.6 * u.arcsec}, ValueError, "-0.6"),
    ({"pixel_scale": 0.1 * u.Jy}, TypeError, "Jy"),
    ({"primary_beam": np.ones((10, 10))}, ValueError, r"\(10, 10\)"),
    ({"box_size": 0}, ValueError, "box_size.*0"),
    ({"centroid": "gaussian"}, ValueError, "'gaussian'"),
    ({"scales": (0.4,)}, TypeError, r"scales\[0\].*0.4"),
    ({"wcs": "not a wcs"}, TypeError, "str"),
    ({"wcs": None}, ValueError, "pixel_scale"),
    ({"beam": 0.85}, TypeError, "float"),
])  # fmt: skip
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = {"dirty": np.zeros((64, 64)), "wcs": _wcs(64), **kwargs}
    with pytest.raises(error, match=match):
        matched_filter_catalog(arguments.pop("dirty"), arguments.pop("wcs"), **arguments)


def test_local_peaks_are_highest_first_and_never_nan():
    image = np.zeros((40, 40))
    image[10, 10], image[10, 30], image[30, 20], image[30, 30] = 3.0, 5.0, 4.0, 4.5
    image[30, 31:] = np.nan  # a blank pixel beside a peak is not one
    x, y = local_peaks(image, 3.5)
    assert list(zip(x, y)) == [(30, 10), (30, 30), (20, 30)]
    assert x.dtype.kind == "i"
    x, y = local_peaks(image, 3.5, max_peaks=1)
    assert list(zip(x, y)) == [(30, 10)]
    # A box wider than the peaks' distance keeps only the higher of two neighbours.
    x, y = local_peaks(image, 3.5, box_size=25)
    assert list(zip(x, y)) == [(30, 10), (30, 30)]
    assert [len(a) for a in local_peaks(np.full((8, 8), np.nan), 0.0)] == [0, 0]
    with pytest.raises(ValueError, match="box_size"):
        local_peaks(image, 3.5, box_size=0)
    with pytest.raises(ValueError, match="2-D"):
        local_peaks(image[None], 3.5)


def test_baselines_import_without_torch():
    code = "import sys, astro_i2i.baselines; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
