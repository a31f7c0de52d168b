import json

import numpy as np
import pytest
from astropy import units as u
from astropy.table import QTable, Table
from radio_beam import Beam
from scipy import ndimage

from astro_i2i.baselines import clean, clean_catalog, true_sky_catalog
from astro_i2i.catalog import CATALOG_COLUMNS, find_sources
from astro_i2i.metrics import (DEFAULT_MATCH_RADIUS, match_radius, match_sources, psnr, score_catalogs,
                               uncertainty_calibration)  # fmt: skip
from astro_i2i.simulate import Observation, SimulationConfig, image_wcs, render_sky

from .test_cli import assert_one_line_error, run_cli


def _table(ra, dec, flux=None, image=None, snr=None):
    table = QTable()
    if image is not None:
        table["image"] = image
    table["ra"] = np.asarray(ra, float) * u.deg
    table["dec"] = np.asarray(dec, float) * u.deg
    table["flux"] = (np.ones(len(ra)) * 1e-4 if flux is None else np.asarray(flux, float)) * u.Jy
    if snr is not None:
        table["snr"] = snr
    return table


ARCSEC = 1 / 3600


class TestMatching:
    def test_two_detections_near_one_source(self):
        truth = _table([150.0], [2.0])
        detected = _table([150.0 + 0.05 * ARCSEC, 150.0 - 0.1 * ARCSEC], [2.0, 2.0])
        pairs = match_sources(detected, truth)
        assert pairs.tolist() == [[0, 0]]  # the closer one

    def test_one_detection_between_two_sources(self):
        truth = _table([150.0, 150.0], [2.0, 2.0 + 0.3 * ARCSEC])
        detected = _table([150.0], [2.0 + 0.16 * ARCSEC])
        assert len(match_sources(detected, truth)) == 1
        score = score_catalogs({0: detected}, _with_image(truth, 0))
        assert (score.n_matched, score.n_true, score.n_detected) == (1, 2, 1)
        assert score.purity == 1.0 and score.completeness == 0.5

    def test_optimal_assignment(self):
        # Greedy would pair d0-t1 (closest pair) and leave t0 unmatched.
        truth = _table([150.0, 150.0], [2.0, 2.0 + 0.2 * ARCSEC])
        detected = _table([150.0, 150.0], [2.0 + 0.11 * ARCSEC, 2.0 + 0.3 * ARCSEC])
        assert len(match_sources(detected, truth)) == 2

    def test_radius(self):
        truth = _table([150.0], [2.0])
        detected = _table([150.0], [2.0 + 0.19 * ARCSEC])
        assert len(match_sources(detected, truth)) == 0
        assert len(match_sources(detected, truth, radius=0.2 * u.arcsec)) == 1

    def test_radius_scales_with_the_beam(self):
        # Within 10 % of the default set-up's 0.856" beam, and without a beam: the reference papers' 0.18".
        assert match_radius(None) == DEFAULT_MATCH_RADIUS
        assert match_radius(Beam(0.89 * u.arcsec, 0.82 * u.arcsec, 0 * u.deg)) == DEFAULT_MATCH_RADIUS
        # A Band 3 beam (1.23"): 0.21 of it; a long-baseline 0.2" beam: 0.21 of that.
        for major, minor in ((1.255, 1.204), (0.204, 0.166)):
            radius = match_radius(Beam(major * u.arcsec, minor * u.arcsec, 0 * u.deg))
            assert radius.to_value(u.arcsec) == pytest.approx(0.18 / 0.856 * np.sqrt(major * minor))

    def test_ra_wrap(self):
        truth = _table([359.99999], [0.0])
        detected = _table([0.00001], [0.0])  # 0.072" away across RA = 0
        assert len(match_sources(detected, truth)) == 1

    def test_empty_inputs(self):
        truth = _with_image(_table([150.0], [2.0]), 0)
        empty = _table([], [])
        score = score_catalogs({0: empty}, truth)
        assert score.completeness == 0 and np.isnan(score.purity) and score.f1 == 0  # a total failure scores 0
        # An empty field (no true sources) only contributes false positives.
        score = score_catalogs({5: _table([150.0], [2.0])}, truth)
        assert score.n_true == 0 and score.n_detected == 1 and score.purity == 0 and score.f1 == 0
        # Detections and true sources but no match: F1 is 0, not NaN (a nanmean would drop it).
        far = score_catalogs({0: _table([150.1], [2.0])}, truth)
        assert far.n_matched == 0 and far.f1 == 0.0
        assert np.isnan(score_catalogs({0: empty}, truth[:0]).f1)  # nothing to score at all

    def test_images_without_a_catalogue_keep_their_sources(self):
        truth = _with_image(_table([150.0, 150.0], [2.0, 2.0]), [0, 1])
        found = {0: _table([150.0], [2.0])}
        assert score_catalogs(found, truth).n_true == 1  # a subset: image 1 is not scored
        score = score_catalogs(found, truth, images=[0, 1])  # image 1 processed, nothing found
        assert score.n_true == 2 and score.n_matched == 1 and score.n_detected == 1 and score.completeness == 0.5

    def test_images_kept_apart(self):
        truth = _with_image(_table([150.0, 150.0], [2.0, 2.0]), [0, 1])
        score = score_catalogs({0: _table([150.0], [2.0]), 1: _table([151.0], [2.0])}, truth)
        assert (score.n_matched, score.n_true, score.n_detected) == (1, 2, 2)

    def test_flux_accuracy_and_snr_bins(self):
        truth = _with_image(_table([150.0, 150.1, 150.2], [2.0, 2.0, 2.0], flux=[1e-4, 2e-4, 4e-4]), 0)
        truth["snr"] = [2.0, 4.0, 8.0]
        detected = _table([150.0, 150.1], [2.0, 2.0], flux=[1.1e-4, 3e-4])
        score = score_catalogs({0: detected}, truth)
        assert score.flux_within_20_percent == 0.5
        assert score.median_relative_flux_error == pytest.approx(0.3)
        bins = {(lo, hi): (n, c) for lo, hi, n, c in score.completeness_by_snr()}
        assert bins[(2.0, 3.0)] == (1, 1.0) and bins[(7.5, np.inf)] == (1, 0.0)


def _with_image(table, image):
    table["image"] = image
    table["snr"] = np.full(len(table), 5.0)
    return table


class TestPixelMetrics:
    def test_psnr(self):
        truth = np.zeros((10, 10))
        truth[5, 5] = 1.0
        assert psnr(truth, truth) == np.inf
        assert psnr(truth + 0.01, truth) == pytest.approx(40.0)

    def test_calibration(self):
        rng = np.random.default_rng(0)
        truth = rng.normal(size=200_000)
        sigma = rng.uniform(0.5, 2.0, size=truth.size)
        mean = truth + sigma * rng.normal(size=truth.size)
        result = uncertainty_calibration(mean, sigma, truth)
        assert result["coverage"] == pytest.approx(0.95, abs=0.005)
        assert result["spearman"] > 0.2
        overconfident = uncertainty_calibration(mean, sigma / 3, truth)
        assert overconfident["coverage"] < 0.6


@pytest.fixture(scope="module")
def sky_and_wcs():
    config = SimulationConfig()
    sources = {"x": np.array([200.3, 300.6, 260.2]), "y": np.array([250.1, 310.4, 180.9]),
               "flux": np.array([1e-4, 3e-4, 5e-5]), "fwhm_maj": np.array([0.7, 0.5, 0.6]),
               "fwhm_min": np.array([0.5, 0.4, 0.6]), "pa": np.array([30.0, 120.0, 0.0])}  # fmt: skip
    return render_sky(sources, 512, 0.1), image_wcs(config, 150.0, 2.2), sources


class TestCatalog:
    def test_columns_and_units(self, sky_and_wcs):
        sky, wcs, _ = sky_and_wcs
        cat = find_sources(sky, wcs)
        assert list(cat.colnames) == list(CATALOG_COLUMNS)
        for name, (unit, _) in CATALOG_COLUMNS.items():
            if unit is not None:
                assert cat[name].unit == unit, name
        assert cat["id"].tolist() == [1, 2, 3]
        assert np.all(np.diff(cat["flux"].value) <= 0)  # brightest first

    def test_true_sky_measurements(self, sky_and_wcs):
        sky, wcs, sources = sky_and_wcs
        cat = true_sky_catalog(sky, wcs)
        order = np.argsort(-sources["flux"])
        np.testing.assert_allclose(cat["x"].value, sources["x"][order], atol=0.02)
        np.testing.assert_allclose(cat["y"].value, sources["y"][order], atol=0.02)
        np.testing.assert_allclose(cat["flux"].to_value(u.Jy), sources["flux"][order], rtol=0.02)
        np.testing.assert_allclose(cat["fwhm_maj"].value, sources["fwhm_maj"][order], rtol=0.05)
        pa_error = (cat["pa"].value - sources["pa"][order] + 90) % 180 - 90
        assert np.all(np.abs(pa_error[:2]) < 3)  # the third is round
        position = wcs.pixel_to_world(sources["x"][order], sources["y"][order])
        assert np.all(position.separation(wcs.pixel_to_world(cat["x"].value, cat["y"].value)).arcsec < 0.01)

    def test_noise_threshold_rejects_pure_noise(self, sky_and_wcs):
        _, wcs, _ = sky_and_wcs
        noise = np.random.default_rng(2).normal(0, 1e-6, (512, 512))
        cat = find_sources(noise, wcs)
        assert len(cat) == 0 and cat.meta["thresh"] == "5 x sigma"
        assert cat.meta["noise"] == pytest.approx(1e-6, rel=0.02)

    def test_threshold_in_the_noise_skips_deblending(self, sky_and_wcs, caplog):
        _, wcs, _ = sky_and_wcs
        noise = ndimage.gaussian_filter(np.random.default_rng(3).normal(0, 1e-6, (512, 512)), 3)
        with caplog.at_level("DEBUG", logger="astro_i2i.catalog"):
            cat = find_sources(noise, wcs, nsigma=0.1)  # about half the image above the threshold
        assert "are not deblended" in caplog.text
        assert len(cat) > 0  # still a catalogue, without minutes of watershed

    def test_uncertainty_map_sets_threshold_and_errors(self, sky_and_wcs):
        sky, wcs, _ = sky_and_wcs
        uncertainty = np.full(sky.shape, 2e-8)
        cat = find_sources(sky, wcs, uncertainty=uncertainty)
        assert len(cat) == 3 and np.all(cat["flux_err"].value > 0)
        np.testing.assert_allclose(cat["snr"], cat["flux"] / cat["flux_err"])
        huge = find_sources(sky, wcs, uncertainty=np.full(sky.shape, 1e-3))
        assert len(huge) == 0

    def test_restored_image_flux(self, sky_and_wcs):
        _, wcs, _ = sky_and_wcs
        beam = Beam(0.9 * u.arcsec, 0.8 * u.arcsec, 80 * u.deg)
        point = np.zeros((512, 512))
        point[256, 300] = 2e-4  # Jy/pixel
        kernel = beam.as_kernel(0.1 * u.arcsec).array
        from scipy.signal import fftconvolve

        restored = fftconvolve(point, kernel / kernel.max(), mode="same")  # Jy/beam
        restored += np.random.default_rng(3).normal(0, 5e-6, restored.shape)
        cat = find_sources(restored, wcs, unit="Jy/beam", beam=beam, island_nsigma=3)
        assert len(cat) == 1
        assert cat["flux"][0].to_value(u.Jy) == pytest.approx(2e-4, rel=0.05)
        assert cat["fwhm_maj"][0].value == pytest.approx(0.9, rel=0.05)
        assert (cat["pa"][0].value - 80 + 90) % 180 - 90 == pytest.approx(0, abs=5)

    def test_bad_arguments(self, sky_and_wcs):
        sky, wcs, _ = sky_and_wcs
        with pytest.raises(ValueError, match="needs the beam"):
            find_sources(sky, wcs, unit="Jy/beam")
        with pytest.raises(ValueError, match="'mJy'"):
            find_sources(sky, wcs, unit="mJy")
        with pytest.raises(TypeError):
            find_sources(sky, None)


class TestClean:
    def test_clean_recovers_a_bright_source(self):
        config = SimulationConfig()
        observation = Observation(config, 2.2)
        sources = {"x": np.array([230.0]), "y": np.array([270.0]), "flux": np.array([2e-3]),
                   "fwhm_maj": np.array([0.5]), "fwhm_min": np.array([0.4]), "pa": np.array([10.0])}  # fmt: skip
        sky = render_sky(sources, 512, 0.1)
        dirty = observation.dirty_image(sky, np.random.default_rng(0))
        dirty[observation.blank_mask] = np.nan
        psf = observation.psf()
        from astro_i2i.io import fit_psf_beam

        wcs = image_wcs(config, 150.0, 2.2)
        beam = fit_psf_beam(psf, wcs)
        restored, model, residual = clean(dirty, psf, beam, pixel_scale=0.1 * u.arcsec)
        assert np.all(np.isnan(restored[observation.blank_mask]))
        assert np.nanstd(residual) < np.nanstd(dirty)
        # CLEAN stops at 3 sigma: the components hold most, not all, of the apparent flux.
        assert 0.5 < model.sum() / (2e-3 * observation.primary_beam[270, 230]) < 1.05
        cat, _ = clean_catalog(dirty, psf, beam, wcs, pixel_scale=0.1 * u.arcsec,
                               primary_beam=observation.primary_beam)  # fmt: skip
        assert len(cat) == 1
        assert cat["flux"][0].to_value(u.Jy) == pytest.approx(2e-3, rel=0.15)
        assert np.hypot(cat["x"][0].value - 230, cat["y"][0].value - 270) < 0.5
        # PyBDSF on the same restored image: one source, its flux corrected by the primary beam, with an error.
        pytest.importorskip("bdsf")
        from astro_i2i.baselines import pybdsf_catalog

        field = pybdsf_catalog(restored, wcs, beam, frequency=230 * u.GHz, primary_beam=observation.primary_beam)
        assert len(field) == 1 and field.meta["primary_beam_corrected"]
        assert field["flux"][0].to_value(u.Jy) == pytest.approx(2e-3, rel=0.15)
        assert 0 < field["flux_err"][0].to_value(u.Jy) < 2e-4
        assert np.hypot(field["x"][0].value - 230, field["y"][0].value - 270) < 0.5
        uncorrected = pybdsf_catalog(restored, wcs, beam, frequency=230 * u.GHz)
        assert uncorrected["flux"][0] < field["flux"][0]  # the apparent flux, below the PB-corrected one

    def test_missing_baseline_dependency_says_how_to_install(self, monkeypatch):
        import sys

        from astro_i2i import baselines

        monkeypatch.setitem(sys.modules, "bdsf", None)  # as if not installed: importing it raises ImportError
        with pytest.raises(ImportError, match=r"needs 'bdsf': pip install 'astro-i2i\[baselines\]'"):
            baselines.pybdsf_catalog(np.zeros((8, 8)), None, None, frequency=230 * u.GHz)


class TestCli:
    def test_catalog_and_evaluate(self, tmp_path, capsys):
        assert run_cli(["simulate", tmp_path, "--n", "3", "--seed", "21"], capsys)[0] == 0
        for i in range(3):
            code, out, err = run_cli(["catalog", tmp_path / f"sky_{i:05d}.fits", "-o", tmp_path / f"c_{i:05d}.ecsv",
                                      "--regions", tmp_path / f"c_{i:05d}.reg"], capsys)  # fmt: skip
            assert code == 0, err
        cat = QTable.read(tmp_path / "c_00000.ecsv")
        assert cat["flux"].unit == u.Jy and cat["ra"].unit == u.deg
        regions = (tmp_path / "c_00000.reg").read_text()
        assert regions.count("ellipse(") == len(cat) and "j2000" in regions  # DS9's name for FK5
        code, out, err = run_cli(["evaluate", "--truth", tmp_path / "truth.ecsv", *sorted(tmp_path.glob("c_*.ecsv")),
                                  "--json", tmp_path / "s.json"], capsys)  # fmt: skip
        assert code == 0, err
        text = (tmp_path / "s.json").read_text()

        def refuse(constant):
            raise ValueError(f"not JSON: {constant}")

        scores = json.loads(text, parse_constant=refuse)  # no Infinity or NaN: strict JSON
        truth = Table.read(tmp_path / "truth.ecsv")
        assert scores["n_true"] == len(truth) and scores["f1"] == 1.0
        assert scores["completeness_by_snr"][-1]["snr_max"] is None  # the open last bin's upper edge
        assert "100.00  100.00  100.00" in out

    def test_catalog_formats(self, tmp_path, capsys):
        assert run_cli(["simulate", tmp_path, "--n", "1", "--seed", "2"], capsys)[0] == 0
        for fmt, suffix in (("fits", "fits"), ("votable", "vot")):
            code, _, err = run_cli(["catalog", tmp_path / "sky_00000.fits", "--format", fmt], capsys)
            assert code == 0, err
            assert (tmp_path / f"sky_00000_cat.{suffix}").exists()
        code, _, err = run_cli(["catalog", tmp_path / "sky_00000.fits", "--format", "fits"], capsys)
        assert_one_line_error(code, err, "output file exists")
        # A dirty image is a Jy/beam image with a beam: it can be catalogued too.
        code, out, err = run_cli(["catalog", tmp_path / "dirty_00000.fits", "-o", tmp_path / "d.ecsv"], capsys)
        assert code == 0, err

    def test_evaluate_errors(self, tmp_path, capsys):
        code, _, err = run_cli(["evaluate", "--truth", tmp_path / "none.ecsv", tmp_path / "x.ecsv"], capsys)
        assert_one_line_error(code, err, "none.ecsv: file not found")
        truth = tmp_path / "truth.ecsv"
        Table({"image": [0], "ra": [1.0], "dec": [1.0], "flux": [1.0], "snr": [1.0]}).write(truth)
        code, _, err = run_cli(["evaluate", "--truth", truth, tmp_path / "x_0.ecsv"], capsys)
        assert_one_line_error(code, err, "x_0.ecsv: file not found")
        bad = tmp_path / "cat_3.ecsv"
        Table({"ra": [1.0]}).write(bad)
        code, _, err = run_cli(["evaluate", "--truth", truth, bad], capsys)
        assert_one_line_error(code, err, "no 'dec' column")
