"""Issue 29: the shipped model on another set-up sees it as its own (pixels per beam, noise, source size)."""

import logging
import warnings

import numpy as np
import pytest
from astropy import units as u

from astro_i2i.catalog import DEFAULT_SOURCE_FWHM, DetectionSettings
from astro_i2i.io import read_image
from astro_i2i.reconstruct import Reconstructor

from .conftest import celestial_header
from .test_inference import model_paths  # noqa: F401  (the small test models)

pytestmark = pytest.mark.filterwarnings("ignore::astro_i2i.exceptions.CalibrationWarning")


@pytest.fixture(scope="module")
def reconstructor(model_paths):  # noqa: F811
    """The suite's small 2-to-1 model: 0.1" pixels, a 0.89" x 0.82" beam, a network grid 2x coarser."""
    return Reconstructor.from_pretrained(model_paths["two_to_one"])


def _field(n, pixel_arcsec, beam_arcsec, noise, *, sources=(), source_arcsec=0.0, seed=0):
    """A dirty image: white noise smoothed to the beam (rescaled to ``noise``), plus Gaussian sources (x, y, Jy)
    of FWHM ``source_arcsec``."""
    from scipy.ndimage import gaussian_filter

    header, _ = celestial_header(n)
    header["CDELT1"], header["CDELT2"] = -pixel_arcsec / 3600, pixel_arcsec / 3600
    header["BMAJ"] = header["BMIN"] = beam_arcsec / 3600
    header["BPA"] = 0.0
    sigma = beam_arcsec / pixel_arcsec / np.sqrt(8 * np.log(2))
    field = gaussian_filter(np.random.default_rng(seed).normal(size=(n, n)), sigma)
    data = field / field.std() * noise
    yy, xx = np.mgrid[:n, :n]
    widened = np.hypot(beam_arcsec, source_arcsec)
    for x, y, flux in sources:  # S Jy of FWHM s under a beam b peak at S b^2 / (b^2 + s^2) Jy/beam
        peak = flux * (beam_arcsec / widened) ** 2
        width = widened / pixel_arcsec / np.sqrt(8 * np.log(2))
        data += peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * width**2))
    return data.astype(np.float32), header


def test_the_network_sees_every_beam_at_the_models_pixels_per_beam(reconstructor):
    model_per_network_pixel = 0.855 / 0.1 / reconstructor.normalisation.downsample
    # The model's own set-up: its downsampling, its pixel scale (nothing resampled).
    own = read_image(_field(64, 0.1, 0.855, 5e-5))
    f, scale = reconstructor._layout(own, free_downsample=True)
    assert f == reconstructor.normalisation.downsample and scale == pytest.approx(0.1, rel=0.01)
    for pixel, beam in ((0.04, 0.19), (0.3, 1.8), (0.01, 0.065), (0.8, 3.4)):
        image = read_image(_field(64, pixel, beam, 5e-5))
        f, scale = reconstructor._layout(image, free_downsample=True)
        assert f >= 1 and beam / scale / f == pytest.approx(model_per_network_pixel, rel=0.01), (pixel, beam)
        # The grid is resampled by at most the rounding of f (less than a factor 1.5 either way).
        assert 1 / 1.5 < pixel / scale < 1.5, (pixel, beam, f, scale)


def test_noise_is_scaled_to_the_training_noise_only_when_it_differs(reconstructor):
    model = reconstructor.card.simulation.noise.rms_jy
    same, _ = _field(96, 0.1, 0.855, 1.1 * model)
    quiet, _ = _field(96, 0.1, 0.855, 0.5 * model)
    assert reconstructor._noise_gain(same) == 1.0
    assert reconstructor._noise_gain(quiet) == pytest.approx(2.0, rel=0.1)


def test_another_set_up_is_reconstructed_on_its_own_grid(reconstructor, caplog):
    """A C43-6-like image (0.19" beam, 0.04" pixels, 29 uJy/beam): resampled by at most the rounding of the
    downsampling, its noise scaled, and the products on the input's grid."""
    data, header = _field(160, 0.04, 0.19, 29e-6)
    with caplog.at_level(logging.INFO, logger="astro_i2i"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = reconstructor.reconstruct((data, header), samples=2, force=True)
    assert result.sky.shape == result.uncertainty.shape == data.shape and np.isfinite(result.sky).all()
    assert "network grid 1x coarser (the model's 2x)" in caplog.text and "scaled by 1.5" in caplog.text


def test_the_catalogue_measures_another_beams_source_with_the_scaled_size():
    """The flux fit's source size follows the beam: a 20-sigma source of 0.13" under a 0.19" beam measured with
    the model's 0.6" (recorded for its 0.855" beam) came out 1.9x too bright; scaled, within 15 %."""
    from astropy.wcs import WCS
    from radio_beam import Beam

    from astro_i2i.catalog import posterior_catalog

    noise, flux, size = 29e-6, 20 * 29e-6, 0.6 / 0.855 * 0.19
    data, header = _field(160, 0.04, 0.19, noise, sources=[(80.0, 80.0, flux)], source_arcsec=size)
    sky = np.zeros_like(data)
    sky[80, 80] = flux
    settings = DetectionSettings(candidate_nsigma=1.0, source_fwhm_arcsec=0.6)
    beam = Beam(0.19 * u.arcsec, 0.19 * u.arcsec, 0 * u.deg)
    wcs = WCS(header).celestial
    measured = {}
    for label, source_fwhm in (("model's", None), ("scaled", size * u.arcsec)):
        catalog = posterior_catalog(sky, data, wcs, beam=beam, settings=settings, min_reliability=0.0,
                                    source_fwhm=source_fwhm)  # fmt: skip
        row = catalog[np.argmin(np.hypot(catalog["x"].value - 80, catalog["y"].value - 80))]
        assert np.hypot(row["x"].value - 80, row["y"].value - 80) < 1.0, label
        measured[label] = row["flux"].to_value(u.Jy) / flux
    assert measured["scaled"] == pytest.approx(1.0, abs=0.15) and measured["model's"] > 1.4, measured


def test_the_models_source_size_scales_with_the_beam(reconstructor):
    from radio_beam import Beam

    settings = DetectionSettings(source_fwhm_arcsec=0.6)
    assert reconstructor._source_fwhm(reconstructor.beam, settings) is None  # its own beam: its own size
    small = Beam(0.19 * u.arcsec, 0.19 * u.arcsec, 0 * u.deg)
    expected = 0.6 * 0.19 / np.sqrt(reconstructor.beam.major.to_value(u.arcsec) * reconstructor.beam.minor.to_value(u.arcsec))
    assert reconstructor._source_fwhm(small, settings).to_value(u.arcsec) == pytest.approx(expected)
    assert reconstructor._source_fwhm(small, DetectionSettings()) is None  # no recorded size: the beam-scaled default


def test_prior_scaled_is_bayes_rule_on_the_odds():
    from astro_i2i.catalog import prior_scaled

    r = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    np.testing.assert_array_equal(prior_scaled(r, 1.0), r)
    scaled = prior_scaled(r, 0.25)
    odds = scaled[1:4] / (1 - scaled[1:4])
    np.testing.assert_allclose(odds, 0.25 * r[1:4] / (1 - r[1:4]))
    assert scaled[0] == 0 and scaled[-1] == 1 and np.all(np.diff(scaled) > 0)


def test_the_reliability_prior_follows_the_beam_area_and_a_stated_density(reconstructor):
    from radio_beam import Beam

    from astro_i2i.reconstruct import ReconstructOptions

    assert reconstructor._prior_odds(reconstructor.beam) == 1.0
    small = Beam(0.19 * u.arcsec, 0.19 * u.arcsec, 0 * u.deg)
    area = small.sr.to_value(u.arcsec**2) / reconstructor.beam.sr.to_value(u.arcsec**2)
    assert reconstructor._prior_odds(small) == pytest.approx(area)  # sources per unit sky area, as trained
    model = 3600 * reconstructor.card.simulation.sources.density_per_arcsec2
    assert reconstructor._prior_odds(small, 4 * model) == pytest.approx(4 * area)
    assert reconstructor._prior_odds(reconstructor.beam, 1.05 * model) == 1.0  # within 10 %: unchanged
    with pytest.raises(ValueError, match="positive"):
        ReconstructOptions(source_density=0)
    with pytest.raises(TypeError, match="arcmin"):
        ReconstructOptions(source_density="20")
    # Through reconstruct: a stated density 10x the model's raises every network source's reliability.
    data, header = _field(96, 0.1, 0.855, 5e-5, sources=[(48.0, 48.0, 5e-4)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = reconstructor.reconstruct((data, header), samples=1, min_reliability=0.0)
        dense = reconstructor.reconstruct((data, header), samples=1, min_reliability=0.0, source_density=10 * model)
    own = read_image((data, header)).beam  # 0.855" round: 1.002 x the model's area, within 10 % of it
    factor = 10 * own.sr.to_value(u.arcsec**2) / reconstructor.beam.sr.to_value(u.arcsec**2)
    np.testing.assert_allclose(np.asarray(dense.catalog["reliability"]),
                               prior_scaled_sorted(np.asarray(plain.catalog["reliability"]), factor), rtol=1e-9)


def prior_scaled_sorted(reliability, odds):
    """The plain run's reliabilities rescaled and sorted as the catalogue sorts them (most reliable first)."""
    from astro_i2i.catalog import prior_scaled

    return np.sort(prior_scaled(reliability, odds))[::-1]


def test_cli_source_density(model_paths, tmp_path, capsys):  # noqa: F811
    from astropy.io import fits

    from .test_outputs import _run

    data, header = _field(96, 0.1, 0.855, 5e-5)
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(data, header=header).writeto(path)
    model = model_paths["two_to_one"]
    assert _run(["reconstruct", path, "--model", model, "--source-density", "0", "-o", tmp_path / "a.fits"]) == 2
    err = capsys.readouterr().err
    assert "--source-density" in err and "Traceback" not in err and not (tmp_path / "a.fits").exists()
    assert _run(["reconstruct", path, "--model", model, "-k", "1", "--source-density", "40", "--no-progress",
                 "-o", tmp_path / "b.fits"]) == 0  # fmt: skip
    from astro_i2i.io import read_products

    assert read_products(tmp_path / "b.fits").provenance["source_density"] == 40.0


@pytest.fixture(scope="module")
def over_setups(model_paths, tmp_path_factory):  # noqa: F811
    """The suite's small 2-to-1 model, recorded as trained over ALMA's 12-m set-ups (a training config's setups)."""
    from astro_i2i.models import load_checkpoint, save_checkpoint

    model, card = load_checkpoint(model_paths["two_to_one"])
    path = tmp_path_factory.mktemp("setups") / "over_setups.pt"
    card = card.replace(training={**card.training, "config": {"setups": {"n": 24}}})
    save_checkpoint(path, model, card=card)
    return Reconstructor.from_pretrained(path)


def _setup_warnings(reconstructor, data, header, **kwargs):
    reconstructor._setup_warned = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reconstructor.reconstruct((data, header), samples=1, **kwargs)
    return [str(w.message) for w in caught if w.category.__name__ in ("SetupWarning", "BeamWarning")]


def test_a_model_over_set_ups_says_nothing_inside_them_and_names_what_lies_outside(over_setups, reconstructor):
    """Issue 29: inside the covered range (a C43-6-like 0.19" beam at 4.6 pixels per beam) no warning and no
    refusal; outside, one warning naming the parameter and adapt. The model of one set-up refuses that beam."""
    from astro_i2i import InputError
    from astro_i2i.simulate import SetupRange

    from astro_i2i.models.checkpoint import checkpoint_summary

    assert over_setups.card.setup_range == SetupRange(n=24) and reconstructor.card.setup_range is None
    assert "set-ups:     trained over 24 (alma.cycle5.1 to alma.cycle5.8, 84-373 GHz" in \
        "\n".join(checkpoint_summary(over_setups.card, "over_setups.pt"))  # fmt: skip
    data, header = _field(96, 0.04, 0.19, 5e-5)
    assert _setup_warnings(over_setups, data, header) == []
    with pytest.raises(InputError, match="adapt"):
        reconstructor.reconstruct((data, header), samples=1)
    coarse, coarse_header = _field(96, 0.1, 0.19, 5e-5)  # 1.9 pixels per beam
    [message] = _setup_warnings(over_setups, coarse, coarse_header)
    assert "1.9 pixels per beam outside 3-10" in message and "astro-i2i adapt" in message
    header["CRVAL2"] = 45.0
    [message] = _setup_warnings(over_setups, data, header)
    assert "declination +45.0 deg outside -70 to +20 deg" in message
    wide, wide_header = _field(96, 2.0, 8.0, 5e-5)
    [message] = _setup_warnings(over_setups, wide, wide_header)
    assert "beam 8\" outside" in message


def test_the_covered_beam_range_is_alma_s_12m_configurations():
    """SETUP_BEAM_RANGE_ARCSEC: C43-8 at 373 GHz (Briggs -1) and C43-1 at 84 GHz (natural), as simulated."""
    from astro_i2i.reconstruct.reconstructor import SETUP_BEAM_RANGE_ARCSEC
    from astro_i2i.simulate import SimulationConfig, synthesized_beam_arcsec

    def fwhm(array, ghz, dec, weighting):
        return synthesized_beam_arcsec(SimulationConfig.from_dict({
            "observation": {"array": array, "frequency_ghz": ghz, "weighting": weighting, "robust": -1.0,
                            "integration_s": 30.0},
            "pointing": {"dec_deg": dec, "radius_deg": 0.0}}))  # fmt: skip

    low, high = SETUP_BEAM_RANGE_ARCSEC
    assert low <= fwhm("alma.cycle5.8", 373, -30, "briggs") < 1.3 * low
    assert high / 1.1 < fwhm("alma.cycle5.1", 84, -70, "natural") <= high


def test_a_model_over_set_ups_assumes_its_population_as_drawn_for_the_image(over_setups, reconstructor):
    """Without a stated density, a model over set-ups assumes 1-5 sources within its primary beam's half-power
    radius (scaled by the wavelength) or 0.45 of the image's width, as its training and calibration drew them;
    the model of one set-up, its sources per unit sky area. A stated density wins for both."""
    from astro_i2i.simulate import population_radius_arcsec

    simulation = over_setups.card.simulation
    model = 3600 * simulation.sources.density_per_arcsec2
    for ghz, n, pixel in ((230.0, 96, 0.1), (100.0, 96, 0.4), (230.0, 64, 0.04)):
        data, header = _field(n, pixel, 0.855, 5e-5)
        header["CTYPE3"], header["CRVAL3"], header["CDELT3"], header["CRPIX3"] = "FREQ", ghz * 1e9, 1e9, 1.0
        image = read_image((data[None], header))
        assert image.frequency.to_value(u.GHz) == pytest.approx(ghz)
        radius = population_radius_arcsec(simulation, ghz, n * pixel)
        assert radius == pytest.approx(min(simulation.sources.max_radius_arcsec * 230.0 / ghz, 0.45 * n * pixel))
        area = image.beam.sr.to_value(u.arcsec**2) / over_setups.beam.sr.to_value(u.arcsec**2)  # 1.002
        expected = (simulation.sources.max_radius_arcsec / radius) ** 2 * area
        assert over_setups._prior_odds(image.beam, None, image) == (1.0 if abs(expected - 1) <= 0.1 else
                                                                    pytest.approx(expected, rel=1e-6))  # fmt: skip
        assert reconstructor._prior_odds(image.beam, None, image) == 1.0  # 0.855" round: the model's area
        assert over_setups._prior_odds(image.beam, 4 * model, image) == pytest.approx(4.0, rel=0.01)
