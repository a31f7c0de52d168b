"""Fields with a bright target (issue 25): the population, the bright-emission CLEAN and its catalogue entries."""

import warnings

import numpy as np
import pytest
from astropy import units as u

from astro_i2i.catalog import posterior_catalog
from astro_i2i.catalog._bright import bright_entries
from astro_i2i.deconvolve import bright_sky, hogbom_clean, residual_pair, subtract_bright
from astro_i2i.exceptions import InputError
from astro_i2i.io import fit_psf_beam
from astro_i2i.simulate import (Observation, SimulationConfig, draw_targets, render_targets, simulate_image,
                                truth_rows)  # fmt: skip
from astro_i2i.simulate._targets import _moments

FIELDS = SimulationConfig.from_yaml("fields")
ALWAYS = SimulationConfig.from_dict({"targets": {**FIELDS.to_dict()["targets"], "fraction": 1.0}})


@pytest.fixture(scope="module")
def observation():
    return Observation(SimulationConfig(), 2.2)


@pytest.fixture(scope="module")
def psf(observation):
    return observation.psf()


def _field(observation, targets, seed=0):
    """A dirty image of the given targets only (noise from the simulator's bank), with its sky."""
    sky = render_targets(targets, 512, 0.1).astype(np.float32)
    rng = np.random.default_rng(seed)
    dirty = (observation.convolve(sky) + observation.noise_field(rng)).astype(np.float32)
    dirty[observation.blank_mask] = np.nan
    return dirty, sky


def _one(kind, x, y, flux, *params):
    components = [(kind, (x, y, flux, *params))]
    mx, my, fmaj, fmin, pa, share = _moments(components, 0.1)
    return {"x": np.array([mx]), "y": np.array([my]), "flux": np.array([flux * share]), "fwhm_maj": np.array([fmaj]),
            "fwhm_min": np.array([fmin]), "pa": np.array([pa]), "shape": np.array([kind]), "components": [components]}


def test_default_population_draws_no_target_and_no_random_numbers():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    targets = draw_targets(rng_a, SimulationConfig())
    assert len(targets["x"]) == 0
    assert rng_a.uniform() == rng_b.uniform()  # nothing was drawn: the reference dataset's images are unchanged


def test_fields_population_by_name_and_its_shapes():
    assert FIELDS.targets.fraction == 0.5 and FIELDS.targets.flux_max_jy == pytest.approx(0.1)
    rng = np.random.default_rng(1)
    shapes, fluxes = set(), []
    for _ in range(60):
        targets = draw_targets(rng, ALWAYS)
        assert 1 <= len(targets["x"]) <= 2
        sky = render_targets(targets, 512, 0.1)
        # The truth's flux is what the pixels hold.
        assert sky.sum() == pytest.approx(targets["flux"].sum(), rel=1e-6)
        shapes.update(targets["shape"])
        fluxes.extend(targets["flux"])
    assert shapes == {"gaussian", "multi", "disc", "ring"}
    assert 0.45e-3 < min(fluxes) and max(fluxes) < 0.101
    with pytest.raises(InputError, match="targets.fraction"):
        SimulationConfig.from_dict({"targets": {"fraction": 1.5}})


def test_target_moments_are_the_gaussian_and_the_discs_size():
    x, y, fmaj, fmin, pa, share = _moments([("gaussian", (256.3, 240.1, 1.0, 1.2, 0.6, 30.0))], 0.1)
    assert (x, y) == pytest.approx((256.3, 240.1), abs=1e-3)
    assert (fmaj, fmin, pa, share) == pytest.approx((1.2, 0.6, 30.0, 1.0), rel=1e-3)
    # A uniform disc of radius R has sigma = R / 2 along every axis.
    _, _, fmaj, fmin, _, _ = _moments([("disc", (256.0, 256.0, 1.0, 2.0, 1.0, 0.0, 0.0))], 0.1)
    assert fmaj == pytest.approx(np.sqrt(8 * np.log(2)) * 0.5, rel=0.02)
    assert fmin == pytest.approx(fmaj, rel=0.02)


def test_truth_rows_mark_targets():
    result = simulate_image(ALWAYS, np.random.default_rng([3, 0]), exact=False)
    rows = truth_rows(0, result["sources"], result["wcs"], ALWAYS, result["targets"])
    kinds = list(rows["kind"])
    assert kinds.count("target") == len(result["targets"]["x"]) >= 1
    assert kinds.count("faint") == len(np.atleast_1d(result["sources"]["x"]))


def test_a_blank_field_is_not_touched(observation, psf):
    result = simulate_image(SimulationConfig(), np.random.default_rng([2_000_000, 4]), exact=False)
    assert subtract_bright(result["dirty"], psf, beam_fwhm_pixels=8.5) is None
    dirty, sky, bright = residual_pair(result["dirty"], result["sky"], psf, faint_sky=result["faint_sky"],
                                       beam_fwhm_pixels=8.5)  # fmt: skip
    assert bright is None and dirty is result["dirty"] and sky is result["sky"]


@pytest.mark.parametrize("flux", [3e-3, 60e-3])
def test_subtract_bright_takes_a_target_out(observation, psf, flux):
    targets = _one("gaussian", 270.0, 240.0, flux, 1.5, 1.0, 40.0)
    dirty, sky = _field(observation, targets)
    bright = subtract_bright(dirty, psf, beam_fwhm_pixels=8.5)
    assert bright is not None
    apparent = flux * observation.primary_beam[240, 270]
    beam_area = 1.1331 * 8.9 * 8.2
    total = bright.model.sum() + np.nansum(bright.residual[bright.mask]) / beam_area
    assert total == pytest.approx(apparent, rel=0.05)
    # Its sidelobes are gone: the residual is noise.
    assert np.nanmax(np.abs(bright.residual)) < 5.5 * bright.sigma
    assert 40e-6 < bright.sigma < 55e-6
    part = bright_sky(bright, 8.5, observation.primary_beam)
    assert np.nansum(part) == pytest.approx(flux, rel=0.05)  # the sky model holds the target's flux


def test_hogbom_clean_of_a_point_source(observation, psf):
    targets = _one("gaussian", 250.0, 262.0, 20e-3, 0.1, 0.1, 0.0)
    dirty, _ = _field(observation, targets, seed=2)
    model, residual, sigma = hogbom_clean(dirty, psf, beam_fwhm_pixels=8.5)
    yy, xx = np.mgrid[:512, :512]
    near = np.hypot(xx - 250, yy - 262) < 10  # elsewhere CLEAN to 3 sigma also takes the noise peaks
    assert model[near].sum() == pytest.approx(targets["flux"][0] * observation.primary_beam[262, 250], rel=0.03)
    assert np.nanmax(residual) < 4 * sigma  # everything down to 3 sigma of the noise as it was measured


def test_bright_entries_one_per_target_with_size_and_morphology(observation, psf):
    extended = _one("disc", 230.0, 250.0, 30e-3, 3.0, 0.6, 60.0, 0.0)
    point = _one("gaussian", 300.0, 280.0, 10e-3, 0.1, 0.1, 0.0)
    both = {k: np.concatenate([extended[k], point[k]]) for k in ("x", "y", "flux", "fwhm_maj", "fwhm_min", "pa")}
    both["components"] = extended["components"] + point["components"]
    dirty, sky = _field(observation, both, seed=3)
    bright = subtract_bright(dirty, psf, beam_fwhm_pixels=8.5)
    result = simulate_image(SimulationConfig(), np.random.default_rng(0), exact=False)
    beam = fit_psf_beam(psf, result["wcs"])
    entries = bright_entries(bright, result["wcs"], beam=beam, primary_beam=observation.primary_beam)
    assert len(entries["x"]) == 2  # one entry each: no fragments
    for truth in (extended, point):
        k = int(np.argmin(np.hypot(entries["x"] - truth["x"][0], entries["y"] - truth["y"][0])))
        assert np.hypot(entries["x"][k] - truth["x"][0], entries["y"][k] - truth["y"][0]) < 2.0
        assert entries["flux"][k] == pytest.approx(truth["flux"][0], rel=0.1)
        assert abs(entries["flux"][k] - truth["flux"][0]) < 3 * entries["flux_err"][k]
    k_ext = int(np.argmax(entries["fwhm_maj"]))
    assert entries["morphology"][k_ext] == "extended" and entries["morphology"][1 - k_ext] == "point"
    assert entries["fwhm_maj"][k_ext] == pytest.approx(extended["fwhm_maj"][0], rel=0.2)
    assert abs((entries["pa"][k_ext] - extended["pa"][0] + 90) % 180 - 90) < 10


def test_reconstruct_a_bright_field_gives_one_entry_and_keeps_its_flux(observation, psf):
    from astro_i2i import Reconstructor
    from astro_i2i.simulate import image_wcs

    targets = _one("gaussian", 275.0, 245.0, 40e-3, 1.2, 0.8, 120.0)
    dirty, sky = _field(observation, targets, seed=4)
    wcs = image_wcs(SimulationConfig(), 150.0, 2.2)
    beam = fit_psf_beam(psf, wcs)
    header = wcs.to_header()
    header["BUNIT"] = "Jy/beam"
    header.update(beam.to_header_keywords())
    reconstructor = Reconstructor.from_pretrained("two_to_one")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CLEANed bright emission is not the network's: no BrightSourceWarning
        result = reconstructor.reconstruct((dirty, header), samples=10, psf=(psf, wcs.to_header()),
                                           primary_beam=observation.primary_beam)  # fmt: skip
    catalog = result.catalog
    bright_rows = catalog[np.asarray(catalog["bright"], dtype=bool)]
    assert len(bright_rows) == 1 and bright_rows["morphology"][0] == "extended"
    assert bright_rows["flux"][0].to_value(u.Jy) == pytest.approx(40e-3, rel=0.05)
    yy, xx = np.mgrid[:512, :512]
    aperture = np.hypot(xx - 275, yy - 245) < 25
    assert np.nansum(result.sky[aperture]) == pytest.approx(40e-3, rel=0.1)
    assert result.provenance["bright_cleaned"] > 0
    # Without the bright emission's share the uncertainty would not cover the target's pixels.
    assert np.all(result.uncertainty[aperture & (sky > 0.1 * sky.max())] > 0)
    faint = catalog[np.asarray(catalog["morphology"]) == ""]
    # No fragments of the target among the faint sources.
    assert not np.any(np.hypot(faint["x"].value - 275, faint["y"].value - 245) < 15)


def test_posterior_catalog_drops_candidates_inside_the_bright_mask(observation, psf):
    from astro_i2i.catalog import DetectionSettings

    targets = _one("gaussian", 256.0, 256.0, 20e-3, 1.0, 1.0, 0.0)
    dirty, sky = _field(observation, targets, seed=5)
    bright = subtract_bright(dirty, psf, beam_fwhm_pixels=8.5)
    result = simulate_image(SimulationConfig(), np.random.default_rng(0), exact=False)
    beam = fit_psf_beam(psf, result["wcs"])
    settings = DetectionSettings(candidate_nsigma=0.1)
    # A sky model with a "fragment" inside the mask: it is not catalogued on its own.
    fake = np.zeros_like(sky)
    fake[256, 262] = 5e-4
    catalog = posterior_catalog(fake, bright.residual, result["wcs"], beam=beam, settings=settings, bright=bright,
                                min_reliability=0.0)  # fmt: skip
    assert list(catalog["morphology"]).count("point") + list(catalog["morphology"]).count("extended") == 1
    assert np.sum(np.hypot(catalog["x"].value - 256, catalog["y"].value - 256) < 10) == 1

