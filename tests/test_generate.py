"""``generate`` carries the style source's noise: its level and its PSF-shaped texture (issue 27, item 3)."""

import numpy as np
import pytest

from astro_i2i.catalog import noise_sigma
from astro_i2i.io import read_image, read_psf
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import ImagedObservation
from astro_i2i.simulate.validation import radial_autocorrelation

from .conftest import REFERENCE, celestial_header


def psf_profile(psf, max_lag=20):
    """Azimuthal profile of a PSF (peak at n // 2), lags 0..max_lag, 1 at 0."""
    ny, nx = psf.shape
    yy, xx = np.mgrid[:ny, :nx]
    radius = np.rint(np.hypot(yy - ny // 2, xx - nx // 2)).astype(int)
    keep = radius <= max_lag
    profile = np.bincount(radius[keep], psf[keep]) / np.bincount(radius[keep])
    return profile / profile[0]


def check_noise(generated, source, psf):
    ratio = noise_sigma(generated) / noise_sigma(source)
    assert ratio == pytest.approx(1, abs=0.1), f"generated noise is {ratio:.3f} of the style source's"
    corr = np.corrcoef(radial_autocorrelation(generated), psf_profile(psf))[0, 1]
    assert corr >= 0.95, f"noise autocorrelation correlates {corr:.3f} with the PSF's"


@pytest.fixture(scope="module")
def reconstructor():
    return Reconstructor.from_pretrained()


@pytest.mark.parametrize("sky_size", [256, 192])
def test_generate_carries_synthetic_noise(reconstructor, sky_size):
    n = 256
    yy, xx = np.mgrid[:n, :n] - n // 2
    sigma = 0.86 / 2.3548 / 0.1  # the header's beam, in 0.1" pixels
    psf = np.exp(-0.5 * (yy**2 + xx**2) / sigma**2)
    observation = ImagedObservation(psf, np.ones((n, n)), 8e-5)
    noise = observation.noise_field(np.random.default_rng(1))
    noise[yy**2 + xx**2 > (0.45 * n) ** 2] = np.nan
    header, _ = celestial_header(n)
    sky_header, _ = celestial_header(sky_size, bunit="Jy/pixel", beam=False)
    sky = np.zeros((sky_size, sky_size), dtype=np.float32)
    sky[sky_size // 3, sky_size // 3] = sky[sky_size // 2, 2 * sky_size // 3] = 5e-4
    generated = reconstructor.generate((sky, sky_header), style_from=(noise, header), seed=0).data
    assert generated.shape == (sky_size, sky_size)
    check_noise(generated, noise, psf)
    again = reconstructor.generate((sky, sky_header), style_from=(noise, header), seed=0).data
    np.testing.assert_array_equal(generated, again)


@pytest.mark.skipif(not REFERENCE.exists(), reason="no CASA reference images (set ASTRO_I2I_CASA_REFERENCE or put them in ../shared/reference/casa)")
@pytest.mark.parametrize("sky, style", [("003", "010"), ("000", "007")])
def test_generate_carries_casa_noise(reconstructor, sky, style):
    source = read_image(REFERENCE / f"dirty_{style}.fits")
    psf = read_psf(REFERENCE / f"psf_{style}.fits", image=source)
    generated = reconstructor.generate(REFERENCE / f"sky_{sky}.fits", style_from=REFERENCE / f"dirty_{style}.fits").data
    check_noise(generated, source.data, psf)
