import hashlib
import shutil
import subprocess

import numpy as np
import pytest
from astropy import units as u

from astro_i2i import InputError
from astro_i2i.data import list_antenna_configs
from astro_i2i.io import read_image
from astro_i2i.simulate import (
    NoiseBank,
    Observation,
    SimulationConfig,
    TrainingPairs,
    baseline_uvw,
    draw_pointing,
    draw_sources,
    hour_angles,
    image_wcs,
    read_antenna_config,
    render_sky,
    write_dataset,
)
from astro_i2i.simulate.validation import radial_autocorrelation


@pytest.fixture(scope="module")
def config():
    return SimulationConfig()


@pytest.fixture(scope="module")
def observation(config):
    return Observation(config, 2.2)


class TestConfig:
    def test_defaults_are_the_reference_specification(self, config):
        assert config.observation.array == "alma.cycle5.3"
        assert config.observation.frequency_ghz == 230.0
        assert config.observation.bandwidth_ghz == 1.875
        assert config.observation.duration_s == 1200 and config.observation.integration_s == 10
        assert config.image.size == 512 and config.image.pixel_scale_arcsec == 0.1
        assert config.primary_beam.limit == 0.2
        assert config.noise.rms_jy == pytest.approx(46e-6)
        assert (config.sources.n_min, config.sources.n_max) == (1, 5)
        assert (config.sources.flux_min_jy, config.sources.flux_max_jy) == (5e-5, 5e-4)

    def test_yaml_round_trip(self, tmp_path, config):
        path = tmp_path / "c.yaml"
        path.write_text(config.to_yaml())
        assert SimulationConfig.from_yaml(path) == config

    def test_partial_yaml_overrides(self, tmp_path):
        path = tmp_path / "c.yaml"
        path.write_text("noise:\n  rms_jy: 2.0e-5\nobservation:\n  array: alma.cycle5.6\n")
        loaded = SimulationConfig.from_yaml(path)
        assert loaded.noise.rms_jy == 2e-5 and loaded.observation.array == "alma.cycle5.6"
        assert loaded.image.size == 512

    @pytest.mark.parametrize(
        "text, fragment",
        [
            ("sources:\n  nmax: 3\n", "unknown key(s) ['nmax'] in 'sources'"),
            ("telescope: {}\n", "unknown section(s) ['telescope']"),
            ("image:\n  size: big\n", "image.size = 'big' is not a int"),
            ("image:\n  size: 100.5\n", "is not an integer"),
            ("sources:\n  n_min: 4\n  n_max: 2\n", "n_min <= n_max"),
            ("- 1\n", "must be a mapping"),
        ],
    )
    def test_bad_yaml(self, tmp_path, text, fragment):
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(InputError, match="bad.yaml") as info:
            SimulationConfig.from_yaml(path)
        assert fragment in str(info.value)


class TestArray:
    def test_shipped_configurations(self):
        assert list_antenna_configs() == sorted([f"alma.cycle5.{i}" for i in range(1, 11)] + ["aca.cycle5"])
        positions, diameters, names = read_antenna_config("alma.cycle5.3")
        assert positions.shape == (43, 3) and np.all(diameters == 12.0) and names[0] == "A001"
        positions, diameters, _ = read_antenna_config("aca.cycle5")  # the 7-m ACA
        assert len(positions) == len(diameters) >= 9 and np.all(diameters == 7.0)

    def test_uvw_preserves_baseline_length(self):
        positions, _, _ = read_antenna_config("alma.cycle5.3")
        hours = hour_angles(1200, 10)
        assert len(hours) == 120 and hours.mean() == pytest.approx(0, abs=1e-12)
        uvw = baseline_uvw(positions, -23.0229, 2.2, hours)
        assert uvw.shape == (120 * 903, 3)
        i, j = np.triu_indices(43, k=1)
        lengths = np.linalg.norm(positions[j] - positions[i], axis=1)
        np.testing.assert_allclose(np.linalg.norm(uvw, axis=1), np.tile(lengths, 120), rtol=1e-10)

    def test_north_south_baseline_at_transit(self):
        # At transit a north-south baseline has no u component; east-west has no v.
        positions = np.array([[0.0, 0, 0], [0, 100, 0], [100, 0, 0]])
        uvw = baseline_uvw(positions, -23.0, 2.0, np.array([0.0]))
        assert abs(uvw[0, 0]) < 1e-9 and uvw[0, 1] > 0  # (0,1): north-south
        assert uvw[1, 0] == pytest.approx(100) and abs(uvw[1, 1]) < 1e-9  # (0,2): east-west


class TestImaging:
    def test_psf_peak_and_symmetry(self, observation):
        psf = observation.psf()
        assert psf[256, 256] == pytest.approx(1.0, abs=1e-6)
        assert np.unravel_index(np.argmax(psf), psf.shape) == (256, 256)
        np.testing.assert_allclose(psf[1:, 1:], psf[1:, 1:][::-1, ::-1], atol=1e-6)

    def test_source_appears_at_its_sky_position(self, config, observation):
        # A point source east (left) and north (up) of the phase centre.
        sky = np.zeros((512, 512), np.float32)
        sky[300, 200] = 1e-3
        dirty = observation.dirty_image(sky, noise=False)
        assert np.unravel_index(np.argmax(dirty), dirty.shape) == (300, 200)
        wcs = image_wcs(config, 150.0, 2.2)
        position = wcs.pixel_to_world(200, 300)
        assert position.ra.deg > 150.0 and position.dec.deg > 2.2  # RA increases to the left
        assert dirty[300, 200] == pytest.approx(1e-3 * observation.primary_beam[300, 200], rel=1e-4)

    def test_fft_path_matches_ducc0(self, config, observation):
        rng = np.random.default_rng(4)
        sky = render_sky(draw_sources(rng, config), 512, 0.1)
        sky[256, 256] += 3e-4
        exact = observation.dirty_image(sky, noise=False)
        fast = observation.convolve(sky)
        assert np.abs(fast - exact).max() < 1e-4 * np.abs(exact).max()

    def test_noise_rms_and_correlation(self, config, observation):
        rng = np.random.default_rng(5)
        inside = ~observation.blank_mask
        exact = [observation.dirty_image(np.zeros((512, 512)), rng)[inside].std() for _ in range(3)]
        assert np.mean(exact) == pytest.approx(config.noise.rms_jy, rel=0.05)
        bank = NoiseBank(observation, rng, size=4, parts=3, refresh_every=2)
        draws = [bank.draw() for _ in range(6)]
        assert np.mean([d[inside].std() for d in draws]) == pytest.approx(config.noise.rms_jy, rel=0.05)
        blank = np.where(observation.blank_mask, np.nan, 1.0)
        ac_exact = np.mean([radial_autocorrelation(observation.noise_field(rng) * blank) for _ in range(3)], axis=0)
        ac_bank = np.mean([radial_autocorrelation(d * blank) for d in draws], axis=0)
        np.testing.assert_allclose(ac_bank, ac_exact, atol=0.03)
        # Correlated like a dirty beam, not white: neighbours correlate strongly.
        assert ac_exact[1] > 0.9

    def test_primary_beam_shape(self, observation):
        pb = observation.primary_beam
        profile = pb[256, 256:]
        half_power_radius = np.argmin(np.abs(profile - 0.5))
        assert 127 <= half_power_radius <= 133  # FWHM ~26" at 230 GHz
        radius = np.sqrt((~observation.blank_mask).sum() / np.pi)
        assert abs(radius - 189) < 3


class TestSources:
    def test_population(self, config):
        rng = np.random.default_rng(0)
        counts = []
        for _ in range(300):
            s = draw_sources(rng, config)
            counts.append(len(s["x"]))
            r = np.hypot(s["x"] - 256, s["y"] - 256) * 0.1
            assert np.all(r < 13.0)
            assert np.all((s["flux"] >= 5e-5) & (s["flux"] <= 5e-4))
            assert np.all(s["fwhm_min"] <= s["fwhm_maj"])
            assert np.all((s["fwhm_min"] >= 0.4) & (s["fwhm_maj"] <= 0.8))
        counts = np.array(counts)
        assert set(counts) <= set(range(6)) and set(range(1, 6)) <= set(counts)
        assert 0.03 < np.mean(counts == 0) < 0.2  # ~10 % empty fields

    def test_render_conserves_flux_and_orientation(self):
        source = {"x": np.array([100.3]), "y": np.array([120.7]), "flux": np.array([2e-4]),
                  "fwhm_maj": np.array([0.8]), "fwhm_min": np.array([0.4]), "pa": np.array([0.0])}  # fmt: skip
        sky = render_sky(source, 256, 0.1)
        assert sky.sum() == pytest.approx(2e-4, rel=1e-4)
        # PA 0: major axis north-south, i.e. along y.
        ys, xs = np.nonzero(sky > sky.max() / 2)
        assert np.ptp(ys) > 1.6 * np.ptp(xs)

    def test_pointings_within_radius(self, config):
        rng = np.random.default_rng(1)
        from astropy.coordinates import SkyCoord

        centre = SkyCoord(config.pointing.ra_deg, config.pointing.dec_deg, unit="deg")
        points = np.array([draw_pointing(rng, config) for _ in range(200)])
        separations = centre.separation(SkyCoord(points[:, 0], points[:, 1], unit="deg")).deg
        assert separations.max() <= 1.0 and separations.max() > 0.8


class TestDataset:
    def test_write_and_reproduce(self, tmp_path):
        truth = write_dataset(tmp_path / "a", 2, seed=3)
        write_dataset(tmp_path / "b", 2, seed=3)
        for name in ("dirty_00000.fits", "sky_00001.fits", "psf_00001.fits", "truth.ecsv"):
            a, b = (hashlib.sha256((tmp_path / d / name).read_bytes()).hexdigest() for d in "ab")
            assert a == b, name
        assert list(truth.colnames) == ["image", "source_id", "ra", "dec", "flux", "fwhm_maj", "fwhm_min", "pa",
                                        "snr", "x", "y", "kind", "shape"]  # fmt: skip
        assert set(truth["kind"]) == {"faint"}  # the reference population has no targets
        assert truth["flux"].unit == u.Jy and truth["fwhm_maj"].unit == u.arcsec
        np.testing.assert_allclose(truth["snr"], truth["flux"] / 50e-6)
        dirty = read_image(tmp_path / "a" / "dirty_00000.fits")
        assert dirty.beam_source == "header"
        assert dirty.beam.major.to_value(u.arcsec) == pytest.approx(0.89, rel=0.03)
        assert dirty.frequency.to_value(u.GHz) == pytest.approx(230)
        assert abs(np.sqrt(np.isfinite(dirty.data).sum() / np.pi) - 189) < 3
        with pytest.raises(InputError, match="sky model"):
            read_image(tmp_path / "a" / "sky_00000.fits")
        if shutil.which("fitsverify"):
            for name in ("dirty_00000.fits", "sky_00000.fits", "psf_00000.fits"):
                report = subprocess.run(["fitsverify", str(tmp_path / "a" / name)], capture_output=True, text=True)
                assert "0 warning(s) and 0 error(s)" in report.stdout, report.stdout

    def test_truth_positions_match_dirty_image(self, tmp_path):
        bright = SimulationConfig.from_dict({"sources": {"flux_min_jy": 5e-3, "flux_max_jy": 6e-3, "empty_fraction": 0}})
        truth = write_dataset(tmp_path, 3, seed=1, config=bright)
        for row in truth:
            image = read_image(tmp_path / f"dirty_{row['image']:05d}.fits")
            x, y = image.wcs.world_to_pixel_values(row["ra"], row["dec"])
            assert x == pytest.approx(row["x"], abs=1e-6) and y == pytest.approx(row["y"], abs=1e-6)
            yi, xi = int(round(float(y))), int(round(float(x)))
            box = image.data[yi - 3 : yi + 4, xi - 3 : xi + 4]
            assert np.nanmax(box) > 20 * 46e-6  # the source is there, in the dirty image

    def test_existing_files_kept(self, tmp_path):
        write_dataset(tmp_path, 1, seed=0)
        before = (tmp_path / "dirty_00000.fits").read_bytes()
        with pytest.raises(InputError, match="output file exists"):
            write_dataset(tmp_path, 2, seed=9)
        assert (tmp_path / "dirty_00000.fits").read_bytes() == before
        assert not (tmp_path / "dirty_00001.fits").exists()
        write_dataset(tmp_path, 1, seed=9, overwrite=True)
        assert (tmp_path / "dirty_00000.fits").read_bytes() != before

    def test_bad_arguments(self, tmp_path):
        with pytest.raises(InputError, match="^n: number of images"):  # the keyword, not the CLI's flag
            write_dataset(tmp_path, 0)
        with pytest.raises(InputError, match="does not exist"):
            write_dataset(tmp_path / "no" / "such", 1)


class TestTrainingPairs:
    def test_reproducible_and_consistent(self, config):
        a, b = TrainingPairs(seed=7, n_pointings=1, bank_size=2, bank_parts=2), TrainingPairs(seed=7, n_pointings=1, bank_size=2, bank_parts=2)
        for _ in range(3):
            sa, sb = a.sample(), b.sample()
            np.testing.assert_array_equal(sa["dirty"], sb["dirty"])
        sample = a.sample()
        assert sample["sky"].shape == sample["dirty"].shape == (512, 512)
        assert sample["sky"].dtype == sample["dirty"].dtype == np.float32
        assert np.all(np.isnan(sample["dirty"][sample["mask"]]))
        # dirty = (sky x PB) * PSF + noise
        observation = a.observations[sample["pointing"]]
        expected = observation.convolve(sample["sky"]) + sample["noise"]
        inside = ~sample["mask"]
        np.testing.assert_allclose(sample["dirty"][inside], expected[inside], atol=1e-9)


def _weighted(weighting, robust=0.5, size=128):
    from astro_i2i.simulate import Observation, SimulationConfig

    config = SimulationConfig.from_dict({"observation": {"weighting": weighting, "robust": robust},
                                         "image": {"size": size}})  # fmt: skip
    return config, Observation(config, -30.0)


def test_briggs_weighting_spans_natural_to_uniform():
    """Robust 2 is natural weighting, robust -2 uniform (tclean's Briggs); the beam narrows between them, the PSF
    peaks at 1 and the noise keeps its configured RMS whatever the weights."""
    from astro_i2i.io import fit_psf_beam
    from astro_i2i.simulate import image_wcs

    fwhm, psfs = {}, {}
    for weighting, robust in (("natural", 0.5), ("briggs", 2.0), ("briggs", 0.5), ("briggs", -2.0), ("uniform", 0.0)):
        config, observation = _weighted(weighting, robust)
        psf = observation.psf()
        assert psf[64, 64] == pytest.approx(1.0, abs=1e-6)
        beam = fit_psf_beam(psf, image_wcs(config, 0.0, -30.0))
        fwhm[weighting, robust] = np.sqrt(beam.major * beam.minor).to_value(u.arcsec)
        psfs[weighting, robust] = psf
        # The mean square, not the spread about each field's mean: a 12.8" field misses the larger scales' power.
        noise = np.sqrt(np.mean([np.mean(observation.noise_field(np.random.default_rng(i)).astype(float) ** 2)
                                 for i in range(8)]))  # fmt: skip
        assert noise == pytest.approx(46e-6, rel=0.1)
    assert observation.weights is not None and _weighted("natural")[1].weights is None
    np.testing.assert_allclose(psfs["briggs", 2.0], psfs["natural", 0.5], atol=0.01)
    np.testing.assert_allclose(psfs["briggs", -2.0], psfs["uniform", 0.0], atol=0.01)
    assert fwhm["natural", 0.5] > fwhm["briggs", 0.5] * 1.1 > fwhm["uniform", 0.0] * 1.1


def test_a_weighting_the_simulator_does_not_know_is_refused():
    from astro_i2i.simulate import SimulationConfig

    with pytest.raises(InputError, match="observation.weighting must be one of"):
        SimulationConfig.from_dict({"observation": {"weighting": "superuniform"}})
    with pytest.raises(InputError, match="observation.robust"):
        SimulationConfig.from_dict({"observation": {"weighting": "briggs", "robust": 3}})


def test_set_ups_are_drawn_on_the_models_own_grid():
    """Every drawn set-up has the base's pixels per beam, its population scaled by the beam, and a quarter are the
    base; the draw is reproducible and refuses unknown keys."""
    from astro_i2i.simulate import SetupRange, SimulationConfig, setup_configs, synthesized_beam_arcsec

    base = SimulationConfig.from_dict({"image": {"size": 128}})
    setups = SetupRange(n=4, arrays=("alma.cycle5.1", "alma.cycle5.6"), briggs_fraction=0.5)
    configs = setup_configs(base, setups)
    assert len(configs) == 4 and configs[0] is base
    base_beam = synthesized_beam_arcsec(base)
    per_beam = base_beam / base.image.pixel_scale_arcsec
    for config in configs[1:]:
        assert config.observation.array in setups.arrays
        assert 84 <= config.observation.frequency_ghz <= 373 and -70 <= config.pointing.dec_deg <= 20
        beam = synthesized_beam_arcsec(config)
        assert beam / config.image.pixel_scale_arcsec == pytest.approx(per_beam, rel=0.02)
        assert config.sources.fwhm_min_arcsec / beam == pytest.approx(base.sources.fwhm_min_arcsec / base_beam,
                                                                      rel=0.02)  # fmt: skip
        assert config.sources.max_radius_arcsec <= 0.45 * 128 * config.image.pixel_scale_arcsec + 1e-9
        assert config.noise == base.noise and config.sources.flux_max_jy == base.sources.flux_max_jy
    assert [c.to_dict() for c in setup_configs(base, setups)] == [c.to_dict() for c in configs]
    with pytest.raises(InputError, match="unknown key"):
        SetupRange.from_dict({"n": 2, "bands": [3]})
    with pytest.raises(InputError, match="setups.n"):
        SetupRange(n=-1)
