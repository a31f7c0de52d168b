"""Reconstructor: tiles, blanks, beams, pixel scales, uncertainty, generation, and the CLI commands."""

import warnings

import numpy as np
import pytest
import torch
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from astro_i2i import InputError
from astro_i2i.cli import main
from astro_i2i.catalog import DetectionSettings, ReliabilityModel
from astro_i2i.exceptions import BeamWarning, CalibrationWarning, PrimaryBeamWarning
from astro_i2i.reconstruct import Reconstructor, edge_weights, reconstruct_array, reconstruct_sky, tile_starts, tiled
from astro_i2i.io import read_image, read_products
from astro_i2i.models import InferenceSettings, MSEUNet, Normalisation, TwoToOne, UncertaintyCalibration, save_checkpoint

from .conftest import celestial_header, make_data

TILE = 64  # the test models' training image size


def _simulation_record(size=TILE):
    return {"image": {"size": size, "pixel_scale_arcsec": 0.1}, "beam": [0.89, 0.82, 82.0]}


def _test_settings():
    """Settings as calibrate_checkpoint writes them, with a hand-made reliability: more S/N, more reliable."""
    reliability = ReliabilityModel(features=("log_mf_snr",), mean=(1.0,), scale=(0.5,), weights=(2.0,), bias=0.0)
    detection = tuple(DetectionSettings(samples=k, candidate_nsigma=0.05, reliability=reliability, min_reliability=0.3,
                                        flux_err_scale=1.0) for k in (1, 4))  # fmt: skip
    return InferenceSettings(samples=4, sigma_style=0.5, detection=detection,
                             uncertainty=UncertaintyCalibration(sample_scale=0.6, dirty_scale=5.0, samples=4))


@pytest.fixture(scope="module")
def model_paths(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models")
    two = TwoToOne(base_channels=4, depth=2, style_channels=2, style_levels=1)
    mse = MSEUNet(base_channels=4, depth=2)
    norm = Normalisation(downsample=2, sky_scale=1.2e-4)
    inference = _test_settings()
    paths = {}
    for name, model in (("two_to_one", two), ("mse", mse)):
        paths[name] = save_checkpoint(folder / f"{name}.pt", model, normalisation=norm,
                                      simulation=_simulation_record(), inference=inference)  # fmt: skip
    return paths


@pytest.fixture(scope="module")
def reconstructor(model_paths):
    return Reconstructor.from_pretrained(model_paths["two_to_one"])


def _image(n=96, seed=0, **kwargs):
    header, shape = celestial_header(n, **kwargs)
    return make_data(shape, seed=seed), header


def test_tile_layout_covers_the_image():
    assert tile_starts(64, 64, 16) == [0]
    starts = tile_starts(200, 64, 16)
    assert starts[0] == 0 and starts[-1] == 200 - 64
    assert all(b - a <= 48 for a, b in zip(starts, starts[1:]))
    # Inner edges: dropped margin, then a ramp; neighbours' weights sum to 1 where they cross-fade.
    first, second = edge_weights(0, 64, 200, 8, 8), edge_weights(40, 64, 200, 8, 8)
    assert first[0] == 1 and first[-8:].max() == 0 and second[:8].max() == 0
    np.testing.assert_allclose(first[48:56] + second[8:16], 1, rtol=1e-6)
    assert np.all(edge_weights(0, 64, 64, 8, 8) == 1)


def test_tiled_blending_is_exact_for_a_pointwise_function():
    image = np.random.default_rng(1).normal(size=(150, 170)).astype(np.float32)

    def apply(tiles, indices):
        return 2 * tiles[:, None], None

    out, style = tiled(image, apply, tile=64, margin=8, ramp=8, multiple=8, batch_size=3, n_out=1)
    assert style is None
    np.testing.assert_allclose(out[0], 2 * image, rtol=1e-5, atol=1e-6)


def test_an_image_smaller_than_a_tile_is_one_tile_of_its_own_size():
    image = np.random.default_rng(2).normal(size=(90, 70)).astype(np.float32)
    seen = []

    def apply(tiles, indices):
        seen.append(tiles.shape)
        return 2 * tiles[:, None], None

    out, _ = tiled(image, apply, tile=512, margin=64, ramp=64, multiple=8, batch_size=2, n_out=1, min_tile=64)
    assert seen == [(1, 96, 96)]  # not padded to 512 x 512
    np.testing.assert_allclose(out[0], 2 * image, rtol=1e-6)
    tiled(image, apply, tile=512, margin=64, ramp=64, multiple=8, batch_size=2, n_out=1, min_tile=128)
    tiled(image, apply, tile=512, margin=64, ramp=64, multiple=8, batch_size=2, n_out=1)
    assert seen[1:] == [(1, 128, 128), (1, 512, 512)]  # at least min_tile; without it, padded to the tile


def test_reconstruct_shapes_blanks_and_seeds(reconstructor):
    data, header = _image()
    result = reconstructor.reconstruct((data, header), samples=4, seed=3)
    blank = np.isnan(data)
    assert result.sky.shape == data.shape and result.uncertainty.shape == data.shape
    assert np.all(np.isnan(result.sky[blank])) and np.all(np.isnan(result.uncertainty[blank]))
    assert np.all(np.isfinite(result.sky[~blank]))
    assert np.all(result.uncertainty[~blank] >= 0) and np.nanmax(result.uncertainty) > 0
    assert result.style.shape[0] == 2 and result.style.shape[1:] == (96 // 4, 96 // 4)
    # The style is NaN where the input is blank (beyond the primary beam), finite inside.
    assert np.isnan(result.style[:, 0, 0]).all() and np.isfinite(result.style[:, 12, 12]).all()
    again = reconstructor.reconstruct((data, header), samples=4, seed=3)
    np.testing.assert_array_equal(again.sky, result.sky)
    other = reconstructor.reconstruct((data, header), samples=4, seed=4)
    assert not np.array_equal(other.uncertainty, result.uncertainty)
    assert result.provenance["seed"] == 3 and result.provenance["samples"] == 4
    fractions = result.catalog["detection_fraction"]
    assert np.all((fractions >= 0) & (fractions <= 1))
    # No seed: the default one, so that the same call gives the same product.
    first = reconstructor.reconstruct((data, header), samples=4)
    np.testing.assert_array_equal(first.sky, reconstructor.reconstruct((data, header), samples=4).sky)
    assert first.provenance["seed"] == 0


def test_catalogue_reliability_and_operating_point(reconstructor):
    data, header = _image(seed=5)
    data[40:44, 50:54] += 2e-3  # a bright source: found, reliable
    everything = reconstructor.reconstruct((data, header), samples=4, min_reliability=0.0).catalog
    assert len(everything) >= 1
    reliability = np.asarray(everything["reliability"])
    assert np.all((reliability >= 0) & (reliability <= 1))
    assert np.all(np.diff(reliability) <= 0)  # most reliable first
    default = reconstructor.reconstruct((data, header), samples=4).catalog
    assert default.meta["minrel"] == 0.3 and np.all(np.asarray(default["reliability"]) >= 0.3)
    assert len(default) == int(np.sum(reliability >= 0.3))
    strict = reconstructor.reconstruct((data, header), samples=4, min_reliability=0.99).catalog
    assert len(strict) <= len(default)
    assert everything["flux"].unit == u.Jy and np.all(everything["flux_err"].value > 0)
    with pytest.raises(ValueError, match="min_reliability"):
        reconstructor.reconstruct((data, header), samples=4, min_reliability=1.5)
    # K = 3 was not calibrated: the nearest sampled settings, with a warning.
    with pytest.warns(CalibrationWarning, match="K = 4"):
        reconstructor.reconstruct((data, header), samples=3)


def test_uncertainty_map_is_the_calibrated_form(reconstructor):
    from astro_i2i.catalog import matched_filter_snr, noise_sigma

    data, header = _image(seed=6)
    data[40:44, 50:54] += 2e-3
    # The network's own map (a 2 mJy blob would be CLEANed first, and the CLEANed share added: test_fields.py).
    result = reconstructor.reconstruct((data, header), samples=4, seed=1, clean_bright=False)
    downsample = int(reconstructor.normalisation.downsample)
    skies, _ = reconstruct_array(reconstructor.model, reconstructor.normalisation, data, samples=4, sigma_style=0.5,
                                 seed=1, tile=reconstructor._tile(downsample), batch_size=2, device="cpu",
                                 min_tile=reconstructor._tile(downsample, training=True))  # fmt: skip
    spread = skies.std(axis=0)
    image = read_image((data, header))
    beam_pixels = float((image.beam.sr / image.pixel_scale**2).decompose())
    snr = np.clip(np.nan_to_num(matched_filter_snr(data, pixel_scale=image.pixel_scale)), 0, None)
    expected = np.hypot(0.6 * spread, 5.0 * noise_sigma(data) / beam_pixels * snr)
    finite = np.isfinite(data)
    np.testing.assert_allclose(result.uncertainty[finite], expected[finite], rtol=1e-4, atol=1e-12)
    assert np.all(np.isnan(result.uncertainty[~finite]))
    # Where the dirty image is bright the map is dominated by the dirty term, not by the samples' spread.
    assert result.uncertainty[42, 52] > 3 * 0.6 * spread[42, 52]


def test_direct_mode_has_no_uncertainty(reconstructor, tmp_path):
    data, header = _image()
    result = reconstructor.reconstruct((data, header), samples=1, seed=0)
    assert result.uncertainty is None
    path = result.write(tmp_path / "direct.fits")
    with fits.open(path) as hdulist:
        assert "UNCERTAINTY" not in [h.name for h in hdulist]
        assert hdulist[0].header["I2IUNC"] is False
        assert hdulist[0].header["I2INSAMP"] == 1
    with pytest.raises(InputError, match="exists"):
        result.write(path)


def test_single_tile_matches_the_array_core(reconstructor):
    data, header = _image(n=TILE)
    result = reconstructor.reconstruct((data, header), samples=1, seed=0)
    mean, _ = reconstruct_sky(reconstructor.model, reconstructor.normalisation, data)
    np.testing.assert_allclose(result.sky, mean, rtol=1e-5, atol=1e-12)


def test_small_images_are_padded(reconstructor):
    data, header = _image(n=40)
    result = reconstructor.reconstruct((data, header), samples=4, seed=0)
    assert result.sky.shape == (40, 40)


def test_beam_checks(reconstructor, tmp_path):
    data, header = _image()
    header["BMAJ"], header["BMIN"] = 3.0 / 3600, 2.5 / 3600
    with pytest.raises(InputError, match=r"differs from the model's.*force"):
        reconstructor.reconstruct((data, header), samples=1, seed=0)
    with pytest.warns(BeamWarning, match="forced"):
        assert reconstructor.reconstruct((data, header), samples=1, seed=0, force=True).sky.shape == data.shape
    data, header = _image(beam=False)
    with pytest.warns(BeamWarning, match="no beam"):
        result = reconstructor.reconstruct((data, header), samples=1, seed=0)
    # The assumed beam (the model's) is the one the product records.
    assert result.image.beam == reconstructor.beam and result.image.beam_source.startswith("model")
    path = result.write(tmp_path / "assumed.fits")
    assert fits.getheader(path)["BMAJ"] == pytest.approx(reconstructor.beam.major.to_value(u.deg))


def test_other_pixel_scales_are_reprojected(reconstructor):
    data, header = _image(n=64)
    header["CDELT1"], header["CDELT2"] = header["CDELT1"] * 2, header["CDELT2"] * 2
    header["CRPIX1"] = header["CRPIX2"] = 33.0
    image = read_image((data, header))
    grid_data, grid_wcs, reprojected = reconstructor._model_grid(image)
    assert reprojected and grid_data.shape == (128, 128)
    assert grid_wcs.proj_plane_pixel_scales()[0].to_value(u.arcsec) == pytest.approx(0.1)
    # A Gaussian (Jy/pixel) on the model grid keeps its flux on the input grid.
    yy, xx = np.mgrid[:128, :128]
    gaussian = np.exp(-((xx - 64.5) ** 2 + (yy - 63.5) ** 2) / (2 * 6.0**2)).astype(np.float32)
    back = reconstructor._back_to_input([gaussian], grid_wcs, image)[0]
    assert back.shape == (64, 64)
    assert np.nansum(back) == pytest.approx(gaussian.sum(), rel=0.02)
    result = reconstructor.reconstruct((data, header), samples=1, seed=0)
    assert result.sky.shape == (64, 64)
    assert np.all(np.isnan(result.sky[np.isnan(data)]))


def test_mse_model_is_direct_only(model_paths):
    mse = Reconstructor.from_pretrained(model_paths["mse"])
    data, header = _image()
    result = mse.reconstruct((data, header), samples=5, seed=0)
    assert result.uncertainty is None and result.style is None and result.provenance["samples"] == 1
    with pytest.raises(InputError, match="cannot generate"):
        mse.generate((np.zeros((64, 64), np.float32), celestial_header(64, bunit="Jy/pixel")[0]))


def test_generate(reconstructor):
    header, _ = celestial_header(64, bunit="Jy/pixel")
    sky = np.zeros((64, 64), dtype=np.float32)
    sky[30:34, 30:34] = 1e-5
    dirty_data, dirty_header = _image(n=64)
    hdu = reconstructor.generate((sky, header), style_from=(dirty_data, dirty_header))
    assert hdu.data.shape == (64, 64) and hdu.header["BUNIT"] == "Jy/beam"
    assert np.all(np.isfinite(hdu.data)) and "BMAJ" in hdu.header
    style = reconstructor.estimate_style((dirty_data, dirty_header))
    np.testing.assert_allclose(reconstructor.generate((sky, header), style=style).data, hdu.data, rtol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        reconstructor.generate((sky, header), style=np.zeros((5, 4, 4)))
    with pytest.raises(InputError, match="Jy/pixel"):
        reconstructor.generate((dirty_data, dirty_header))


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(InputError, match="no such model"):
        Reconstructor.from_pretrained("no-such-model")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="bad.pt"):
        Reconstructor.from_pretrained(bad)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no GPU"):
            Reconstructor.from_pretrained(bad, device="cuda")


def test_samples_must_be_positive(reconstructor):
    data, header = _image()
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="samples"):
            reconstructor.reconstruct((data, header), samples=bad)


def test_cli_reconstruct(model_paths, write_image, tmp_path, capsys, monkeypatch):
    dirty = write_image("field.fits", n=96)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the product goes to the current directory, not beside the input
    status = _run(["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"]), "-k", "3", "--seed", "1",
                   "--quicklook", str(tmp_path / "q.png"), "--regions", str(tmp_path / "q.reg"), "--no-progress"])  # fmt: skip
    assert status == 0
    out = work / "field_i2i.fits"
    assert not (tmp_path / "field_i2i.fits").exists()
    products = read_products(out)
    assert products.provenance["samples"] == 3 and products.uncertainty is not None
    assert products.provenance["min_reliability"] == 0.3  # the model's default cut, recorded
    assert (tmp_path / "q.png").read_bytes()[:4] == b"\x89PNG"
    stdout = capsys.readouterr().out
    assert "-> field_i2i.fits" in stdout
    # Every file written is reported (issue 27 item 12: the PNG and the regions were not).
    assert f"-> {tmp_path / 'q.reg'} (regions)" in stdout and f"-> {tmp_path / 'q.png'} (quick-look)" in stdout
    # An existing output is kept, with a one-line error and status 2.
    before = out.read_bytes()
    assert _run(["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists" in err and "Traceback" not in err
    assert out.read_bytes() == before


def test_cli_reconstruct_refuses_a_foreign_beam(model_paths, write_image, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dirty = write_image("wide.fits", header_extra={"BMAJ": 4 / 3600, "BMIN": 3 / 3600})
    # 35 pixels per beam: outside the ALMA 12-m set-ups a tuning covers (issue 29), one line naming what and adapt
    assert _run(["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"]), "-k", "1"]) == 2
    err = capsys.readouterr().err
    assert "wide.fits" in err and "34.6 pixels per beam outside 3-10" in err and "adapt" in err and "--force" in err
    assert err.count("\n") == 1 and not (tmp_path / "wide_i2i.fits").exists()
    # Without the automatic tuning, the model's own refusal of a beam over 2x its own
    assert _run(["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"]), "-k", "1", "--no-tune"]) == 2
    err = capsys.readouterr().err
    assert "wide.fits" in err and "4\" x 3\"" in err and "0.89" in err and "--force" in err
    assert not (tmp_path / "wide_i2i.fits").exists()
    assert _run(["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"]), "-k", "1", "--force"]) == 0


def test_cli_generate(model_paths, tmp_path, capsys):
    header, _ = celestial_header(64, bunit="Jy/pixel")
    sky = tmp_path / "sky.fits"
    fits.PrimaryHDU(np.zeros((64, 64), np.float32), header=header).writeto(sky)
    dirty_header, shape = celestial_header(64)
    dirty = tmp_path / "dirty.fits"
    fits.PrimaryHDU(make_data(shape), header=dirty_header).writeto(dirty)
    out = tmp_path / "gen.fits"
    assert _run(["generate", str(sky), "--style-from", str(dirty), "-o", str(out),
                 "--model", str(model_paths["two_to_one"])]) == 0  # fmt: skip
    with fits.open(out) as hdulist:
        assert hdulist[0].data.shape == (64, 64)
        assert WCS(hdulist[0].header).pixel_n_dim == 2


def _run(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            main(args)
        except SystemExit as exc:
            return exc.code
    return 0


def test_reconstruction_repr_is_short(reconstructor):
    data, header = _image()
    text = repr(reconstructor.reconstruct((data, header), samples=4))
    assert text.startswith("<Reconstruction of") and "96x96" in text and "K = 4" in text and "seed 0" in text
    assert len(text) < 200 and "[" not in text  # no array contents


def test_top_level_import():
    import astro_i2i

    assert astro_i2i.Reconstructor is Reconstructor
    with pytest.raises(AttributeError):
        astro_i2i.NoSuchThing  # noqa: B018


def test_shipped_models_are_self_describing():
    available = Reconstructor.available_models()
    assert list(available)[:2] == ["two_to_one", "mse"]
    default = Reconstructor.from_pretrained()
    assert default.name == "two_to_one" and default.model.architecture == "two_to_one"
    card = default.card
    assert card.training_config["model"]["architecture"] == "two_to_one"
    assert card.normalisation.downsample == 4
    assert card.image_size == 512 and card.pixel_scale == 0.1 * u.arcsec
    assert card.package_version and card.metrics["validation"]["n_images"] > 0
    settings = card.inference
    assert settings.calibrated and 0 < settings.sigma_style and settings.samples == 10
    assert [d.samples for d in settings.detection] == [1, 10]
    assert all(0 < d.min_reliability < 1 and d.flux_err_scale > 0 for d in settings.detection)
    coverage = settings.uncertainty.coverage
    assert 0.9 <= coverage["source"] <= 0.97 and 0.93 <= coverage["disc"] <= 0.97
    assert card.metrics["calibration"]["n_images"] >= 600
    assert default.beam.major.to_value(u.arcsec) == pytest.approx(0.89, abs=0.02)


def test_cli_reconstructs_the_shipped_example(tmp_path, capsys):
    from astro_i2i.data import example_path

    out = tmp_path / "example_i2i.fits"
    assert _run(["reconstruct", str(example_path("dirty")), "-o", str(out), "-k", "4", "--seed", "0"]) == 0
    products = read_products(out)
    dirty = read_image(example_path("dirty"))
    assert products.sky.shape == dirty.data.shape
    np.testing.assert_array_equal(np.isnan(products.sky), np.isnan(dirty.data))
    assert products.provenance["model"] == "two_to_one" and products.provenance["samples"] == 4
    assert products.header["BUNIT"] == "Jy/pixel" and "BMAJ" in products.header
    assert "source(s)" in capsys.readouterr().out


def test_cli_reconstructs_the_example_with_the_shipped_ddpm(tmp_path, capsys):
    """``--model ddpm`` writes the same product (no STYLE: the DDPM has no style), valid FITS."""
    import shutil
    import subprocess

    from astro_i2i.data import example_path

    assert "ddpm" in Reconstructor.available_models()
    out = tmp_path / "example_ddpm.fits"
    command = ["reconstruct", str(example_path("dirty")), "-o", str(out), "--model", "ddpm", "-k", "3", "--steps", "4"]
    assert _run(command) == 0
    products = read_products(out)
    assert products.style is None and products.uncertainty is not None
    assert products.provenance["model"] == "ddpm" and products.provenance["samples"] == 3
    with fits.open(out) as hdul:
        assert [hdu.name for hdu in hdul] == ["SKY", "UNCERTAINTY", "CATALOG"]
        assert hdul["SKY"].header["I2ISTEPS"] == 4
    if shutil.which("fitsverify"):
        report = subprocess.run(["fitsverify", str(out)], capture_output=True, text=True)
        assert "0 warning(s) and 0 error(s)" in report.stdout, report.stdout
    capsys.readouterr()
    assert _run(["reconstruct", str(example_path("dirty")), "-o", str(tmp_path / "x.fits"), "--steps", "4"]) == 2
    assert "--steps: applies to diffusion models" in capsys.readouterr().err


def test_shipped_model_finds_the_examples_bright_sources(tmp_path):
    """The default model, K = 10, default seed and cut, on the shipped example: its two sources above
    5 x 50 uJy are found within 0.18", their fluxes within 3 flux_err of the truth, nothing spurious."""
    from astropy.table import Table

    from astro_i2i.data import example_path
    from astro_i2i.metrics import match_sources

    catalog = Reconstructor.from_pretrained().reconstruct(example_path("dirty")).catalog
    truth = Table.read(example_path("truth"))
    bright = truth[truth["snr"] >= 5]
    assert len(bright) == 2
    pairs = match_sources(catalog, bright)
    assert len(pairs) == 2 and len(catalog) == 2
    flux = catalog["flux"].to_value(u.Jy)[pairs[:, 0]]
    error = catalog["flux_err"].to_value(u.Jy)[pairs[:, 0]]
    assert np.all(np.abs(flux - np.asarray(bright["flux"])[pairs[:, 1]]) <= 3 * error)
    assert np.all(np.asarray(catalog["reliability"]) > 0.5)


@pytest.mark.parametrize("norm", ["pixel", "group"])
def test_tiles_agree_with_one_pass_only_for_local_normalisation(norm):
    torch.manual_seed(1)
    # A U-Net of depth 1: its receptive field (about 20 pixels here) fits in the 16-pixel margin.
    model = MSEUNet(base_channels=4, depth=1, norm=norm).eval()
    normalisation = Normalisation(downsample=2)
    rng = np.random.default_rng(2)
    field = rng.normal(0, 5e-5, size=(256, 256)).astype(np.float32)
    field[100:110, 40:50] += 1e-3  # bright patches, so that image statistics vary from tile to tile
    field[200:215, 180:190] += 2e-3
    kwargs = {"samples": 1, "sigma_style": 0.0, "seed": 0, "batch_size": 4, "device": "cpu"}
    tiled = reconstruct_array(model, normalisation, field, tile=128, **kwargs)[0][0]
    single = reconstruct_array(model, normalisation, field, tile=256, **kwargs)[0][0]
    difference = np.abs(tiled - single).max() / np.abs(single).max()
    if norm == "pixel":
        assert difference < 1e-3
    else:
        assert difference > 0.01  # group norm's image-wide statistics make tiles disagree


def test_casa_headers_are_fixed_quietly(reconstructor, tmp_path):
    """CASA writes OBSGEO-X/Y/Z only: astropy's FITSFixedWarning must not reach the user (logged at debug)."""
    from astropy.wcs import FITSFixedWarning

    data, header = _image()
    header["OBSGEO-X"], header["OBSGEO-Y"], header["OBSGEO-Z"] = 2225142.18, -5440307.37, -2481029.85
    header["DATE-OBS"] = "2026-01-01T00:00:00"
    with warnings.catch_warnings():
        warnings.simplefilter("error", FITSFixedWarning)
        result = reconstructor.reconstruct((data, header), samples=4)
        path = result.write(tmp_path / "casa_i2i.fits")
        read_products(path)


def test_cli_evaluate_pairs_products_with_the_right_truth(model_paths, write_image, tmp_path, capsys, monkeypatch):
    from astropy.table import Table

    monkeypatch.chdir(tmp_path)
    # A simulated image carries its truth-table number in OBJECT; the product's name holds the '2' of 'i2i'.
    dirty = write_image("example.fits", n=96, header_extra={"OBJECT": "astro-i2i sim 00007"})
    assert _run(["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"]), "-o", "example_i2i.fits",
                 "-k", "1", "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    truth = tmp_path / "truth.ecsv"
    # The common spellings of a truth table are understood (ra_deg, dec_deg, flux_jy).
    Table({"image": [2, 2, 7], "ra_deg": [150.0, 150.002, 150.001], "dec_deg": [2.0, 2.0, 2.001],
           "flux_jy": [1e-4, 1e-4, 2e-4], "snr": [2.0, 2.0, 4.0]}).write(truth)  # fmt: skip
    assert _run(["evaluate", "--truth", str(truth), "example_i2i.fits", "--json", "s.json"]) == 0
    import json

    assert json.loads((tmp_path / "s.json").read_text())["n_true"] == 1  # image 7's one source, not image 2's
    # --image pairs explicitly; a product whose image has no truth rows is refused with a one-line error.
    assert _run(["evaluate", "--truth", str(truth), "example_i2i.fits", "--image", "2", "--json", "t.json",
                 "--overwrite"]) == 0  # fmt: skip
    assert json.loads((tmp_path / "t.json").read_text())["n_true"] == 2
    assert _run(["evaluate", "--truth", str(truth), "example_i2i.fits", "--image", "3"]) == 2
    err = capsys.readouterr().err
    assert "none of the 1 product(s) pairs" in err and "--image" in err
    assert _run(["evaluate", "--truth", str(truth), "example_i2i.fits", "example_i2i.fits", "--image", "7"]) == 2
    # A truth table without the needed columns says which it needs and which it has.
    bad = tmp_path / "bad.ecsv"
    Table({"image": [7], "x": [1.0]}).write(bad)
    assert _run(["evaluate", "--truth", str(bad), "example_i2i.fits"]) == 2
    err = capsys.readouterr().err
    assert "ra (ra or ra_deg" in err and "it has image, x" in err


def test_a_psf_is_not_taken_for_a_dirty_image(reconstructor):
    header, _ = celestial_header(64)
    del header["BUNIT"]
    yy, xx = np.mgrid[:64, :64]
    x0, y0 = header["CRPIX1"] - 1, header["CRPIX2"] - 1
    psf = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 3.5**2)).astype(np.float32)
    with pytest.raises(InputError, match="looks like a PSF"):
        reconstructor.reconstruct((psf, header), samples=1)
    assert reconstructor.reconstruct((psf, header), samples=1, force=True).sky.shape == (64, 64)
    # A dirty image with no BUNIT whose peak is not 1 at the centre is read as Jy/beam, as before.
    assert reconstructor.reconstruct((psf * 3e-4, header), samples=1).sky.shape == (64, 64)
    # A primary beam (broad, nothing negative) is told apart from a PSF, and the error says where it goes.
    pb = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 20.0**2)).astype(np.float32)
    with pytest.raises(InputError, match=r"looks like a primary beam, not a dirty image .*\(primary_beam=\)"):
        reconstructor.reconstruct((pb, header), samples=1)


def test_a_source_far_brighter_than_the_training_population_is_warned_about(tmp_path):
    from astro_i2i.exceptions import BrightSourceWarning

    torch.manual_seed(0)
    record = {**_simulation_record(), "sources": {"flux_max_jy": 0.5e-3}}
    path = save_checkpoint(tmp_path / "m.pt", TwoToOne(base_channels=4, depth=2, style_channels=2, style_levels=1),
                           normalisation=Normalisation(downsample=2, sky_scale=1.2e-4), simulation=record,
                           inference=_test_settings())  # fmt: skip
    reconstructor = Reconstructor.from_pretrained(path)
    data, header = _image(n=96)
    yy, xx = np.mgrid[:96, :96]
    beam = np.exp(-((xx - 40) ** 2 + (yy - 50) ** 2) / (2 * 3.6**2)).astype(np.float32)  # a point source, 0.85" beam
    with warnings.catch_warnings():
        warnings.simplefilter("error", BrightSourceWarning)
        faint = reconstructor.reconstruct((data + 3e-4 * beam, header), samples=1, min_reliability=0)
    assert len(faint.catalog) and np.nanmax(faint.catalog["flux"].to_value(u.mJy)) < 1.0
    # The network alone (clean_bright=False) saturates on it, and says so.
    with pytest.warns(BrightSourceWarning, match=r"a source of \d+\.\d mJy measured by the network \(not CLEANed.*"
                                                 r"\d+\.\dx the brightest faint source the model was trained on "
                                                 r"\(0\.5 mJy\)"):  # fmt: skip
        reconstructor.reconstruct((data + 5e-3 * beam, header), samples=1, min_reliability=0, clean_bright=False)
    # By default it is CLEANed first (its peak is far above 12 sigma): one entry, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", BrightSourceWarning)
        cleaned = reconstructor.reconstruct((data + 5e-3 * beam, header), samples=1, min_reliability=0)
    entries = cleaned.catalog[np.asarray(cleaned.catalog["bright"], dtype=bool)]
    assert len(entries) == 1 and cleaned.provenance["bright_cleaned"] > 0


def test_an_image_without_noise_is_refused(reconstructor):
    # All zero, or zero but for a few pixels: the catalogue's S/N would be infinite everywhere.
    data, header = _image(n=64)
    zero = np.where(np.isfinite(data), 0, np.nan).astype(np.float32)
    spiked = zero.copy()
    spiked[30:33, 30:33] = 1e-3
    for image in (zero, spiked):
        with pytest.raises(InputError, match="has no noise .*not a dirty image"):
            reconstructor.reconstruct((image, header), samples=1)


def test_a_primary_beam_corrected_image_is_refused(reconstructor, write_image, tmp_path, capsys):
    # White noise out to 17.3" with a 26" FWHM primary beam: 2.6x its central value where PB < 0.4 once divided by it.
    data, header = _image(n=384, seed=3)
    yy, xx = np.mgrid[:384, :384]
    radius = np.hypot(xx - 192, yy - 192) * 0.1
    pb = np.exp(-4 * np.log(2) * (radius / 26.0) ** 2)
    assert reconstructor.reconstruct((data, header), samples=1, primary_beam=pb).sky.shape == (384, 384)
    corrected = (data / pb).astype(np.float32)
    with pytest.raises(InputError, match=r"looks primary-beam corrected: its noise is 2\.\dx higher .* force=True"):
        reconstructor.reconstruct((corrected, header), samples=1, primary_beam=pb)
    with pytest.warns(PrimaryBeamWarning, match="forced"):
        forced = reconstructor.reconstruct((corrected, header), samples=1, primary_beam=pb, force=True)
    assert forced.sky.shape == (384, 384) and np.isnan(forced.sky[0, 0])
    # pb_corrected=True undoes the correction with the primary beam given: the flat image's products.
    undone = reconstructor.reconstruct((corrected, header), samples=1, primary_beam=pb, pb_corrected=True)
    flat = reconstructor.reconstruct((data, header), samples=1, primary_beam=pb)
    np.testing.assert_allclose(undone.sky, flat.sky, rtol=0, atol=1e-4 * np.nanmax(np.abs(flat.sky)))  # float32, amplified
    assert undone.provenance["pb_corrected"] is True and "pb_corrected" not in flat.provenance
    with pytest.raises(InputError, match=r"pb_corrected=True, but its noise does not grow .* looks uncorrected"):
        reconstructor.reconstruct((data, header), samples=1, primary_beam=pb, pb_corrected=True)
    with pytest.raises(InputError, match=r"pb_corrected: needs the primary beam the image was corrected with"):
        reconstructor.reconstruct((corrected, header), samples=1, pb_corrected=True)
    # Without the zones (a 64-pixel image lies inside PB 0.8) nothing is checked; the CLI says --force.
    small = (data / pb)[160:224, 160:224]
    assert reconstructor.reconstruct((small, celestial_header(64)[0]), samples=1).sky.shape == (64, 64)
    path = tmp_path / "pbcor.fits"
    fits.writeto(path, corrected, header)
    pb_path = tmp_path / "pb.fits"
    pb_header = header.copy()
    del pb_header["BUNIT"]  # a .pb has no brightness unit (one that has is refused as an image)
    fits.writeto(pb_path, pb.astype(np.float32), pb_header)
    assert _run(["reconstruct", str(path), "--pb", str(pb_path), "--model", str(reconstructor.path), "-k", "1",
                 "-o", str(tmp_path / "out.fits"), "--no-progress"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "pbcor.fits: looks primary-beam corrected" in err and "--pbcor" in err and "--force" in err
    assert "Traceback" not in err and "=True" not in err
    assert not (tmp_path / "out.fits").exists()
    assert _run(["reconstruct", str(path), "--pbcor", "--model", str(reconstructor.path), "-k", "1",
                 "-o", str(tmp_path / "out.fits"), "--no-progress"]) == 2  # fmt: skip
    assert "error: --pbcor: needs the primary beam the image was corrected with (--pb; none found beside" in \
        capsys.readouterr().err
    assert _run(["reconstruct", str(path), "--pbcor", "--pb", str(pb_path), "--model", str(reconstructor.path),
                 "-k", "1", "-o", str(tmp_path / "out.fits"), "--no-progress"]) == 0  # fmt: skip
    assert fits.getheader(tmp_path / "out.fits", "SKY")["I2IPBCOR"] is True


def test_catalog_hdu_carries_provenance_and_units(reconstructor, tmp_path):
    data, header = _image()
    path = reconstructor.reconstruct((data, header), samples=4, seed=2).write(tmp_path / "p.fits")
    catalog_header = fits.getheader(path, "CATALOG")
    for keyword in ("I2IVER", "I2IMODEL", "I2IMDSUM", "I2INSAMP", "I2ISEED", "I2IINPUT", "I2IMINRL", "DATE"):
        assert keyword in catalog_header, keyword
    assert catalog_header["I2ISEED"] == 2 and catalog_header["I2INSAMP"] == 4
    assert catalog_header.comments["NOISE"].startswith("[Jy/beam]")
    units = {catalog_header[f"TTYPE{i}"]: catalog_header.get(f"TUNIT{i}") for i in range(1, catalog_header["TFIELDS"] + 1)}
    assert units["model_peak"] == "Jy pix-1" and units["flux"] == "Jy" and units["ra"] == "deg"
    assert units["peak_flux"] == "Jy beam-1" and units["ra_err"] == "arcsec"


def test_a_file_that_is_not_a_primary_beam_is_refused_as_one(reconstructor, tmp_path):
    # Issue 27 item 2: a dirty image or a PSF given as --pb was accepted and gave 0 sources.
    from astropy.io import fits

    data, header = _image(n=64)
    n = data.shape[-1]
    yy, xx = np.mgrid[:n, :n]
    x0, y0 = header["CRPIX1"] - 1, header["CRPIX2"] - 1
    dirty_path = tmp_path / "other_dirty.fits"
    fits.PrimaryHDU(data, header).writeto(dirty_path)
    with pytest.raises(InputError, match=r"other_dirty\.fits: has brightness unit 'Jy/beam': an image, not a primary"):
        reconstructor.reconstruct((data, header), samples=1, primary_beam=dirty_path)
    psf = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 3.6**2)) - 0.05 * np.cos(np.hypot(xx - x0, yy - y0) / 3)
    psf_header = header.copy()
    del psf_header["BUNIT"]
    psf_path = tmp_path / "the_psf.fits"
    fits.PrimaryHDU(psf.reshape(data.shape).astype(np.float32), psf_header).writeto(psf_path)
    with pytest.raises(InputError, match=r"the_psf\.fits: has negative values .*a PSF has negative sidelobes"):
        reconstructor.reconstruct((data, header), samples=1, primary_beam=psf_path)
    offset = np.exp(-((xx - 5) ** 2 + (yy - 5) ** 2) / (2 * 20.0**2))
    with pytest.raises(InputError, match=r"primary_beam: peaks at pixel \(5, 5\), \d+ pixels from .*pointing"):
        reconstructor.reconstruct((data, header), samples=1, primary_beam=offset)
    with pytest.raises(InputError, match=r"primary_beam: peaks at 0\.00"):
        reconstructor.reconstruct((data, header), samples=1, primary_beam=np.full((n, n), 1e-3))
    good = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 40.0**2))
    assert reconstructor.reconstruct((data, header), samples=1, primary_beam=good).sky.shape == (n, n)
