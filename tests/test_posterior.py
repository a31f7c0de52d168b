"""The reconstruction catalogue: matched filter, sub-pixel positions, flux fits, reliability, settings."""

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.wcs import WCS
from radio_beam import Beam
from scipy import ndimage, signal

from astro_i2i.catalog import (DetectionSettings, ReliabilityModel, candidate_features, fit_fluxes, gaussian_psf,
                               matched_filter_snr, posterior_catalog, refine_positions, reliability_diagram)  # fmt: skip

from .conftest import celestial_header

PIXEL = 0.1 * u.arcsec
BEAM = Beam(0.9 * u.arcsec, 0.8 * u.arcsec, 30 * u.deg)


def _source_image(x, y, flux, *, size=96, fwhm=0.6, pb=None):
    """The dirty image (Jy/beam) of a Gaussian source of ``flux`` Jy: PB x (G * Gaussian PSF)."""
    yy, xx = np.mgrid[:size, :size]
    sigma = fwhm / 0.1 / np.sqrt(8 * np.log(2))
    source = np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / sigma**2)
    source *= flux / source.sum()
    dirty = signal.fftconvolve(source, gaussian_psf(BEAM, PIXEL, 49), mode="same")
    return dirty * (1 if pb is None else pb), gaussian_psf(BEAM, PIXEL, 49)


def _correlated_noise(rng, shape, rms):
    """Noise whose covariance is rms^2 x the Gaussian PSF (natural weighting's thermal noise)."""
    psf = gaussian_psf(BEAM, PIXEL, 49)
    # A Gaussian kernel K with K * K = PSF: the same axes divided by sqrt(2), normalised to unit sum of squares.
    half = Beam(BEAM.major / np.sqrt(2), BEAM.minor / np.sqrt(2), BEAM.pa)
    kernel = gaussian_psf(half, PIXEL, 49)
    kernel /= np.sqrt((kernel**2).sum())
    white = rng.normal(size=(shape[0] + 48, shape[1] + 48))
    field = signal.fftconvolve(white, kernel, mode="valid")
    assert abs(psf.max() - 1) < 1e-12
    return rms * field


def test_matched_filter_peaks_at_the_source():
    dirty, _ = _source_image(40.3, 55.7, 1e-3)
    snr = matched_filter_snr(dirty + np.random.default_rng(0).normal(0, 1e-5, dirty.shape), pixel_scale=PIXEL)
    iy, ix = np.unravel_index(np.nanargmax(snr), snr.shape)
    assert (ix, iy) in ((40, 56), (40, 55))
    with pytest.raises(u.UnitTypeError):
        matched_filter_snr(dirty, pixel_scale=PIXEL, source_fwhm=0.6 * u.Jy)
    with pytest.raises(ValueError, match="2-D"):
        matched_filter_snr(dirty[None], pixel_scale=PIXEL)


def test_refine_positions_is_sub_pixel():
    dirty, _ = _source_image(40.3, 55.7, 1e-3)
    smooth = ndimage.gaussian_filter(dirty, 2.5)
    x, y, value = refine_positions([42.0, 10.0], [54.0, 10.0], smooth, radius=3.0)
    assert abs(x[0] - 40.3) < 0.1 and abs(y[0] - 55.7) < 0.1 and value[0] == pytest.approx(smooth.max(), rel=1e-3)
    # Far from the source the position only moves within the radius.
    assert np.hypot(x[1] - 10, y[1] - 10) <= 3.5
    with pytest.raises(ValueError, match="radius"):
        refine_positions([1.0], [1.0], smooth, radius=-1)


def test_fit_fluxes_recovers_blended_sources_and_the_primary_beam():
    yy, xx = np.mgrid[:96, :96]
    pb = np.exp(-((xx - 48) ** 2 + (yy - 48) ** 2) / (2 * 60.0**2))
    one, psf = _source_image(40, 50, 3e-4, pb=pb)
    two, _ = _source_image(47, 52, 1e-4, pb=pb)  # 0.73" away: blended at a 0.85" beam
    flux, err = fit_fluxes(one + two, [40, 47], [50, 52], psf=psf, pixel_scale=PIXEL, primary_beam=pb)
    np.testing.assert_allclose(flux, [3e-4, 1e-4], rtol=1e-3)
    assert np.all(np.isnan(err))  # no noise given
    apparent, _ = fit_fluxes(one, [40], [50], psf=psf, pixel_scale=PIXEL)
    assert apparent[0] == pytest.approx(3e-4 * pb[50, 40], rel=1e-2)  # the PB varies across the source
    assert fit_fluxes(one, [], [], psf=psf, pixel_scale=PIXEL)[0].shape == (0,)


def test_fit_flux_errors_match_the_scatter_under_correlated_noise():
    rng = np.random.default_rng(3)
    source, psf = _source_image(48, 48, 2e-4)
    rms = 5e-5
    fluxes, errors = [], []
    for _ in range(150):
        noise = _correlated_noise(rng, source.shape, rms)
        flux, err = fit_fluxes(source + noise, [48], [48], psf=psf, pixel_scale=PIXEL, noise=rms)
        fluxes.append(flux[0])
        errors.append(err[0])
    assert np.mean(fluxes) == pytest.approx(2e-4, rel=0.1)
    # The error propagated through the PSF-shaped noise covariance describes the actual scatter.
    assert np.std(fluxes) == pytest.approx(np.mean(errors), rel=0.2)


def test_reliability_model_recovers_a_logistic_law():
    rng = np.random.default_rng(4)
    feature = rng.normal(size=4000)
    labels = (rng.uniform(size=4000) < 1 / (1 + np.exp(-(2 * feature - 1)))).astype(float)
    model = ReliabilityModel.fit({"f": feature}, labels, names=("f",))
    assert model.weights[0] / model.scale[0] == pytest.approx(2, rel=0.15)
    predicted = model.predict({"f": feature})
    for row in reliability_diagram(predicted, labels, min_count=100):
        assert abs(row["predicted"] - row["observed"]) < 0.1
    again = ReliabilityModel.from_dict(model.to_dict())
    np.testing.assert_allclose(again.predict({"f": feature}), predicted)
    with pytest.raises(ValueError, match="both"):
        ReliabilityModel.fit({"f": feature}, np.zeros(4000), names=("f",))
    with pytest.raises(ValueError, match="weights"):
        ReliabilityModel(features=("a", "b"), mean=(0, 0), scale=(1, 1), weights=(1,), bias=0)


def test_detection_settings_round_trip():
    settings = DetectionSettings(samples=10, candidate_nsigma=0.05, flux_scale=0.9, min_reliability=0.2)
    assert DetectionSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="min_reliability"):
        DetectionSettings(min_reliability=1.5)
    with pytest.raises(ValueError, match="flux_scale"):
        DetectionSettings(flux_scale=0)
    sized = DetectionSettings(source_fwhm_arcsec=1.0)
    assert DetectionSettings.from_dict(sized.to_dict()) == sized
    # Settings stored before the field existed read as None (the beam-scaled default).
    old = {k: v for k, v in settings.to_dict().items() if k != "source_fwhm_arcsec"}
    assert DetectionSettings.from_dict(old).source_fwhm_arcsec is None
    with pytest.raises(ValueError, match="source_fwhm_arcsec"):
        DetectionSettings(source_fwhm_arcsec=0.0)


def test_settings_source_size_sets_the_flux_template():
    """The settings' source size is the flux fit's template, as if passed as ``source_fwhm``."""
    dirty, psf = _source_image(48.0, 48.0, 1e-3, fwhm=1.2)
    dirty = dirty + _correlated_noise(np.random.default_rng(3), dirty.shape, 1e-5)
    wcs = WCS(celestial_header(96)[0]).celestial
    sky = np.zeros_like(dirty)
    sky[48, 48] = 1e-3
    common = {"beam": BEAM, "psf": psf}
    default = candidate_features(sky, dirty, wcs, settings=DetectionSettings(), **common)
    sized = candidate_features(sky, dirty, wcs, settings=DetectionSettings(source_fwhm_arcsec=1.2), **common)
    given = candidate_features(sky, dirty, wcs, settings=DetectionSettings(), source_fwhm=1.2 * u.arcsec, **common)
    assert len(default) == len(sized) == len(given) == 1
    np.testing.assert_allclose(sized["flux_fit"].value, given["flux_fit"].value)
    # The 1.2" source fitted with its own size; the default 0.6" template fits its peak and misses its wings.
    assert sized["flux_fit"][0].to_value(u.Jy) == pytest.approx(1e-3, rel=0.05)
    assert default["flux_fit"][0].to_value(u.Jy) < 0.8e-3


def test_recalibration_maps_outputs_onto_observed_fractions():
    rng = np.random.default_rng(7)
    feature = rng.normal(size=6000)
    # The truth is steeper than a logistic in the feature: a plain fit is miscalibrated at the ends.
    truth = np.clip(0.5 + 0.45 * np.tanh(3 * feature), 0, 1)
    labels = (rng.uniform(size=6000) < truth).astype(float)
    plain = ReliabilityModel.fit({"f": feature}, labels, names=("f",))
    fixed = plain.recalibrate({"f": feature}, labels)
    nodes = np.asarray(fixed.recalibration)
    assert nodes[0].tolist() == [0, 0] and nodes[-1].tolist() == [1, 1] and np.all(np.diff(nodes[:, 1]) >= 0)
    fresh = rng.normal(size=6000)
    fresh_labels = (rng.uniform(size=6000) < np.clip(0.5 + 0.45 * np.tanh(3 * fresh), 0, 1)).astype(float)
    error = [abs(r["predicted"] - r["observed"]) for r in reliability_diagram(fixed.predict({"f": fresh}), fresh_labels,
                                                                             min_count=100)]  # fmt: skip
    assert max(error) < 0.08
    assert ReliabilityModel.from_dict(fixed.to_dict()) == fixed


def test_posterior_catalog_finds_and_measures_a_source():
    header, _ = celestial_header(96)

    wcs = WCS(header).celestial
    rng = np.random.default_rng(5)
    dirty, psf = _source_image(40.4, 50.6, 1.2e-3)  # S/N about 20
    dirty = dirty + _correlated_noise(rng, dirty.shape, 4e-5)
    yy, xx = np.mgrid[:96, :96]
    sky = 2.5e-5 * np.exp(-((xx - 39.0) ** 2 + (yy - 51.5) ** 2) / (2 * 2.0**2))  # the network's blob, 0.17" off
    sky[10, 80] = 1e-6  # a faint spurious peak
    reliability = ReliabilityModel(features=("log_mf_snr",), mean=(1.0,), scale=(0.5,), weights=(3.0,), bias=0.0)
    settings = DetectionSettings(samples=1, candidate_nsigma=0.05, reliability=reliability, min_reliability=0.5)
    candidates = candidate_features(sky, dirty, wcs, beam=BEAM, settings=settings, psf=psf)
    assert len(candidates) == 2
    catalog = posterior_catalog(sky, dirty, wcs, beam=BEAM, settings=settings, psf=psf)
    assert len(catalog) == 1
    row = catalog[0]
    # Refined on the dirty image: within 0.05" of the truth although the sky peak was 0.17" off.
    assert np.hypot(row["x"].value - 40.4, row["y"].value - 50.6) < 0.5
    assert row["flux"].to_value(u.Jy) == pytest.approx(1.2e-3, rel=0.1)
    assert row["flux_err"].to_value(u.Jy) > 0 and 0.5 <= row["reliability"] <= 1
    assert np.isnan(row["detection_fraction"])
    loose = posterior_catalog(sky, dirty, wcs, beam=BEAM, settings=settings, psf=psf, min_reliability=0.0)
    assert len(loose) == 2 and loose["reliability"][0] >= loose["reliability"][1]
    with pytest.raises(ValueError, match="min_reliability"):
        posterior_catalog(sky, dirty, wcs, beam=BEAM, settings=settings, min_reliability=-0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = posterior_catalog(np.zeros_like(sky), dirty, wcs, beam=BEAM, settings=settings)
    assert len(empty) == 0 and "reliability" in empty.colnames


def test_find_sources_takes_astropy_units():

    from astro_i2i.catalog import find_sources

    header, _ = celestial_header(64)
    wcs = WCS(header).celestial
    sky = np.zeros((64, 64))
    sky[30:33, 30:33] = 1e-5
    as_unit = find_sources(sky, wcs, unit=u.Jy / u.pix)
    as_text = find_sources(sky, wcs, unit="Jy/pixel")
    assert len(as_unit) == len(as_text) == 1 and as_unit["flux"][0] == as_text["flux"][0]
    with pytest.raises(ValueError, match="Jy/pixel or Jy/beam"):
        find_sources(sky, wcs, unit=u.mJy)


def test_a_reliability_with_the_prior_feature_takes_the_prior_odds_as_it():
    """A reliability calibrated over set-ups gets log(prior_odds) as its feature (its fitted weight, not Bayes'
    fixed one); the feature does not reach the catalogue's columns."""
    from astro_i2i.catalog import PRIOR_FEATURE, prior_scaled

    header, _ = celestial_header(96)
    wcs = WCS(header).celestial
    dirty, psf = _source_image(40.4, 50.6, 0.4e-3)
    dirty = dirty + _correlated_noise(np.random.default_rng(6), dirty.shape, 4e-5)
    yy, xx = np.mgrid[:96, :96]
    sky = 1e-5 * np.exp(-((xx - 40.0) ** 2 + (yy - 51.0) ** 2) / (2 * 2.0**2))
    plain = ReliabilityModel(features=("log_mf_snr",), mean=(1.0,), scale=(0.5,), weights=(1.0,), bias=-1.0)
    weighted = ReliabilityModel(features=("log_mf_snr", PRIOR_FEATURE), mean=(1.0, 0.0), scale=(0.5, 1.0),
                                weights=(1.0, 0.5), bias=-1.0)  # fmt: skip
    rows = {}
    for name, model in (("plain", plain), ("weighted", weighted)):
        settings = DetectionSettings(samples=1, candidate_nsigma=0.05, reliability=model, min_reliability=0.0)
        for odds in (1.0, 4.0):
            catalog = posterior_catalog(sky, dirty, wcs, beam=BEAM, settings=settings, psf=psf, prior_odds=odds)
            assert len(catalog) == 1 and PRIOR_FEATURE not in catalog.colnames
            rows[name, odds] = float(catalog["reliability"][0])
    assert rows["plain", 1.0] == pytest.approx(rows["weighted", 1.0])
    assert rows["plain", 4.0] == pytest.approx(prior_scaled(rows["plain", 1.0], 4.0))  # Bayes on the odds
    # The feature's weight 0.5: the odds grow by 4 ** 0.5.
    assert rows["weighted", 4.0] == pytest.approx(prior_scaled(rows["weighted", 1.0], 2.0))
