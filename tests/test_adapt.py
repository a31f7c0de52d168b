"""``astro-i2i adapt``: simulating with a user's PSF, checking it, fine-tuning and calibrating for it."""

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

from astro_i2i import InputError
from astro_i2i.io import psf_similarity, read_image, read_psf
from astro_i2i.simulate import (ImagedObservation, Observation, SimulationConfig, noise_power_from_image,
                                simulate_image, write_dataset)  # fmt: skip

#: A small set-up unlike the shipped models': 0.2" pixels, 64 x 64, 30 uJy/beam.
SMALL = {"image": {"size": 64, "pixel_scale_arcsec": 0.2}, "noise": {"rms_jy": 30e-6},
         "sources": {"max_radius_arcsec": 5.0, "flux_min_jy": 0.2e-3, "flux_max_jy": 1e-3}}  # fmt: skip


def _autocorrelation(field):
    spectrum = np.fft.rfft2(field)
    ac = np.fft.irfft2(np.abs(spectrum) ** 2, s=field.shape)
    return np.fft.fftshift(ac / ac[0, 0])


@pytest.fixture(scope="module")
def small_observation():
    config = SimulationConfig.from_dict(SMALL)
    observation = Observation(config, config.pointing.dec_deg)
    return config, observation


@pytest.fixture
def user_files(tmp_path):
    """One 'observation' of the small set-up as tclean would write it: dirty and PSF FITS files."""
    write_dataset(tmp_path / "obs", 1, seed=5, config=SimulationConfig.from_dict(SMALL))
    return tmp_path / "obs" / "dirty_00000.fits", tmp_path / "obs" / "psf_00000.fits"


def test_imaged_observation_reproduces_the_array(small_observation):
    config, observation = small_observation
    imaged = ImagedObservation(observation.psf(2 * config.image.size), observation.primary_beam, config.noise.rms_jy)
    sky = np.zeros((64, 64), dtype=np.float32)
    sky[20, 40] = 1e-3
    # With a PSF twice the image size the convolution is the array's, sidelobes at the edge included.
    np.testing.assert_allclose(imaged.convolve(sky), observation.convolve(sky), atol=1e-9)
    rng = np.random.default_rng(0)
    fields = [imaged.noise_field(rng) for _ in range(30)]
    assert np.std(fields) == pytest.approx(config.noise.rms_jy, rel=0.05)
    # Natural weighting: the noise is correlated like the PSF (within 0.05 of its peak, 20 beams around).
    mean_ac = np.mean([_autocorrelation(f) for f in fields], axis=0)
    psf = observation.psf()
    assert np.abs(mean_ac - psf)[22:43, 22:43].max() < 0.05
    # The same texture measured from one noisy image (another weighting would show here).
    measured = ImagedObservation(psf, observation.primary_beam, config.noise.rms_jy,
                                 noise_power=noise_power_from_image(fields[0], max_lag=16))  # fmt: skip
    mean_measured = np.mean([_autocorrelation(measured.noise_field(rng)) for _ in range(30)], axis=0)
    assert np.abs(mean_measured - psf)[28:37, 28:37].max() < 0.15
    # It round-trips through a checkpoint's arrays.
    again = ImagedObservation.from_arrays(measured.to_arrays())
    np.testing.assert_allclose(again.noise_field(np.random.default_rng(3)),
                               measured.noise_field(np.random.default_rng(3)), rtol=1e-4, atol=1e-10)  # fmt: skip
    result = simulate_image(config, np.random.default_rng(1), observation=imaged)
    assert result["dirty"].shape == (64, 64) and np.isfinite(result["dirty"]).all()


def test_psf_similarity_tells_set_ups_apart(small_observation):
    config, observation = small_observation
    psf = observation.psf()
    scale = config.image.pixel_scale_arcsec * u.arcsec
    assert psf_similarity(psf, scale, psf, scale, radius=3 * u.arcsec) == pytest.approx(1.0)
    other = Observation(SimulationConfig.from_dict({**SMALL, "observation": {"array": "alma.cycle5.1"}}), 2.2).psf()
    assert psf_similarity(other, scale, psf, scale, radius=3 * u.arcsec) < 0.9


def _write(path, data, header):
    fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True)
    return path


def test_read_psf_refuses_what_is_not_this_images_psf(user_files, tmp_path):
    dirty, psf = user_files
    image = read_image(dirty)
    good = read_psf(psf, image=image)
    assert good.shape == (64, 64) and good.max() == pytest.approx(1.0)
    data, header = fits.getdata(psf), fits.getheader(psf)
    cases = {
        "not 1": (data * 2, header),
        "not at the centre": (np.roll(data, 5, axis=-1), header),
        "is a cube": (np.repeat(data, 3, axis=1), header),
    }
    for expected, (array, head) in cases.items():
        with pytest.raises(InputError, match=expected):
            read_psf(_write(tmp_path / "bad.fits", array, head), image=image)
    coarse = header.copy()
    coarse["CDELT1"], coarse["CDELT2"] = 2 * header["CDELT1"], 2 * header["CDELT2"]
    with pytest.raises(InputError, match="PSF pixels are 0.4\" but .* 0.2\""):
        read_psf(_write(tmp_path / "bad.fits", data, coarse), image=image)
    with pytest.raises(InputError, match="smaller than"):
        read_psf(_write(tmp_path / "bad.fits", data[..., 8:56, 8:56], header), image=image)
    with pytest.raises(InputError, match="an image, not a PSF"):
        read_psf(dirty, image=image)


def test_adapt_cli_errors_are_one_line(user_files, tmp_path, capsys):
    from astro_i2i.cli import main

    dirty, psf = user_files
    header = fits.getheader(dirty)
    for key in ("BMAJ", "BMIN", "BPA"):
        del header[key]
    nobeam = _write(tmp_path / "nobeam.fits", fits.getdata(dirty), header)
    bad_psf = _write(tmp_path / "half.fits", fits.getdata(psf) * 0.5, fits.getheader(psf))
    for args, expected in [([str(nobeam)], "has no beam"),
                           ([str(dirty), "--psf", str(bad_psf)], "not 1: pass a PSF normalised"),
                           ([str(dirty), "--psf", str(psf), "--flux-range", "1"], "--flux-range: '1' is not two"),
                           ([str(dirty), "--psf", str(psf), "--from", str(tmp_path / "none.pt")], "file not found")]:  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main(["adapt", *args, "-o", str(tmp_path / "out.pt")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and expected in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.pt").exists()


def test_adapt_refuses_a_primary_beam_corrected_image(user_files, tmp_path):
    from astro_i2i.training import describe_observation

    dirty, psf = user_files
    header = fits.getheader(dirty)
    # Noise alone (this set-up's bright sources would fill the small inner zone) and a primary beam falling
    # from 1 within 16 pixels of the centre to 0.2 at 30: both zones hold > 1000 pixels.
    yy, xx = np.mgrid[:64, :64]
    data = np.random.default_rng(1).normal(0, 3e-5, fits.getdata(dirty).shape).astype(np.float32)
    pb = np.clip(1 - 0.8 * (np.hypot(xx - 32, yy - 32) - 16) / 14, 0.2, 1).reshape(data.shape)
    pb_header = header.copy()
    del pb_header["BUNIT"]  # a .pb has no brightness unit
    pb_path = _write(tmp_path / "pb.fits", pb.astype(np.float32), pb_header)
    flat = _write(tmp_path / "flat.fits", data, header)
    corrected = _write(tmp_path / "pbcor.fits", (data / pb).astype(np.float32), header)
    describe_observation(flat, psf=psf, primary_beam=pb_path)  # as tclean makes it: accepted
    with pytest.raises(InputError, match=r"pbcor.fits: looks primary-beam corrected: its noise is 4\.\dx") as info:
        describe_observation(corrected, psf=psf, primary_beam=pb_path)
    assert "force" not in str(info.value)  # adapt has no way to go on


torch = pytest.importorskip("torch")


def test_adapt_fine_tunes_calibrates_and_describes(user_files, tmp_path, capsys):
    from astro_i2i import Reconstructor
    from astro_i2i.cli import main
    from astro_i2i.exceptions import SetupWarning
    from astro_i2i.models import InferenceSettings, Normalisation, TwoToOne, load_checkpoint, save_checkpoint
    from astro_i2i.training import TrainingConfig, adapt, describe_observation

    torch.manual_seed(0)
    tiny = {"model": {"architecture": "two_to_one", "base_channels": 4, "depth": 2, "style_channels": 2,
                      "style_levels": 2},
            "data": {"crop": 32, "crops_per_image": 2, "n_pointings": 1},
            "optimisation": {"steps": 4, "batch_size": 4}}  # fmt: skip
    config = TrainingConfig(**tiny)
    base = tmp_path / "base.pt"
    record = {**SimulationConfig().to_dict(), "beam": [0.89, 0.82, 82.0]}
    save_checkpoint(base, config.build_model(), normalisation=Normalisation(), simulation=record,
                    training={"config": config.to_dict()}, inference=InferenceSettings())  # fmt: skip
    dirty, psf = user_files
    simulation, observation, notes = describe_observation(dirty, psf=psf)
    # Sources default to the observation's scale: 1-10 x its noise, 0.5-1 x its beam.
    assert simulation.sources.flux_min_jy == pytest.approx(notes["noise_rms_jy"])
    assert simulation.sources.fwhm_max_arcsec == pytest.approx(notes["beam_fwhm_arcsec"])
    assert simulation.image.pixel_scale_arcsec == pytest.approx(0.2) and simulation.image.size == 64
    # Sources within the primary beam's half-power radius unless told otherwise (in any angular unit).
    assert simulation.sources.max_radius_arcsec < 0.9 * 32 * 0.2 + 1e-6
    wide, _, _ = describe_observation(dirty, psf=psf, source_radius=0.1 * u.arcmin)
    assert wide.sources.max_radius_arcsec == pytest.approx(6.0)
    for bad, message in ((7 * u.arcsec, r"must lie in \(0, 6.4\] arcsec"), (3 * u.Jy, "must be an angle")):
        with pytest.raises(InputError, match=message):
            describe_observation(dirty, psf=psf, source_radius=bad)

    output = tmp_path / "adapted.pt"
    best = adapt(dirty, output, psf=psf, base=base, minutes=0.05, calibration_images=4, validation_images=2)
    assert best["step"] >= 1
    model, card = load_checkpoint(output)
    assert isinstance(model, TwoToOne)
    assert card.image_size == 64 and card.pixel_scale.to_value(u.arcsec) == pytest.approx(0.2)
    assert card.adapted["psf"] == str(psf) and card.adapted["base_checksum"] == load_checkpoint(base)[1].checksum
    np.testing.assert_allclose(card.psf, read_psf(psf, image=read_image(dirty)), atol=1e-6)
    assert isinstance(card.imaged_observation(), ImagedObservation)
    assert card.inference.calibrated and card.metrics["calibration"]["n_images"] == 4
    # The network's units follow the set-up: 10 noise sigma for the dirty image.
    assert card.normalisation.dirty_scale == pytest.approx(10 * 46e-6 * notes["noise_rms_jy"] / 46e-6)
    with pytest.raises(InputError, match="output file exists"):
        adapt(dirty, output, psf=psf, base=base, minutes=0.05)

    with warnings.catch_warnings():
        warnings.simplefilter("error", SetupWarning)  # its own set-up: no warning
        result = Reconstructor.from_pretrained(output).reconstruct(dirty, psf=psf)
    assert result.sky.shape == (64, 64)
    # The base model was not trained for it: one warning that names adapt, however many images.
    other = Reconstructor.from_pretrained(base)
    with pytest.warns(SetupWarning, match="astro-i2i adapt") as caught:
        other.reconstruct(dirty, psf=psf, samples=1)
        other.reconstruct(dirty, psf=psf, samples=1)
    assert sum(issubclass(w.category, SetupWarning) for w in caught) == 1
    assert "0.2\" pixels, the model's 0.1\"" in str(caught[0].message)

    with pytest.raises(SystemExit) as exit_info:
        main(["info", str(output)])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and f"adapted to:  {dirty}" in out and "grid:        64 x 64 at 0.2\"" in out
