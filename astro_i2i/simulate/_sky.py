"""Sky models (elliptical Gaussian sources) and the primary beam."""

import numpy as np
from scipy import special

__all__ = ["draw_sources", "render_sky", "primary_beam", "airy_primary_beam", "draw_pointing"]

ARCSEC = np.pi / 180 / 3600
FWHM_TO_SIGMA = 1 / np.sqrt(8 * np.log(2))
SOURCE_FIELDS = ("x", "y", "flux", "fwhm_maj", "fwhm_min", "pa")


def draw_pointing(rng, config):
    """A pointing (ra, dec) in degrees, uniform in area within ``pointing.radius_deg``."""
    pointing = config.pointing
    radius = np.radians(pointing.radius_deg)
    # Uniform on the spherical cap: cos(separation) uniform in [cos(radius), 1].
    separation = np.arccos(1 - rng.uniform() * (1 - np.cos(radius)))
    bearing = rng.uniform(0, 2 * np.pi)
    ra0, dec0 = np.radians(pointing.ra_deg), np.radians(pointing.dec_deg)
    dec = np.arcsin(np.sin(dec0) * np.cos(separation) + np.cos(dec0) * np.sin(separation) * np.cos(bearing))
    ra = ra0 + np.arctan2(
        np.sin(bearing) * np.sin(separation) * np.cos(dec0),
        np.cos(separation) - np.sin(dec0) * np.sin(dec),
    )
    return float(np.degrees(ra) % 360), float(np.degrees(dec))


def draw_sources(rng, config):
    """Draw the sources of one image.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Source of the random draws.
    config : `~astro_i2i.simulate.SimulationConfig`
        Its ``sources`` section (counts, fluxes, sizes, radius, empty
        fraction) and ``image`` section (size, pixel scale).

    Returns
    -------
    sources : dict of `~numpy.ndarray`
        ``x``, ``y`` (0-based pixel), ``flux`` (Jy), ``fwhm_maj``, ``fwhm_min``
        (arcsec) and ``pa`` (deg east of north), one entry per source.
    """
    s, image = config.sources, config.image
    empty = rng.uniform() < s.empty_fraction
    n = 0 if empty else int(rng.integers(s.n_min, s.n_max + 1))
    radius = s.max_radius_arcsec * np.sqrt(rng.uniform(size=n)) / image.pixel_scale_arcsec
    angle = rng.uniform(0, 2 * np.pi, size=n)
    centre = image.size / 2
    flux = rng.uniform(s.flux_min_jy, s.flux_max_jy, size=n)
    axes = rng.uniform(s.fwhm_min_arcsec, s.fwhm_max_arcsec, size=(n, 2))
    pa = rng.uniform(0, 360, size=n)
    return {
        "x": centre + radius * np.cos(angle),
        "y": centre + radius * np.sin(angle),
        "flux": flux,
        "fwhm_maj": axes.max(axis=1),
        "fwhm_min": axes.min(axis=1),
        "pa": pa,
    }


def render_sky(sources, size, pixel_scale_arcsec, *, dtype=np.float32):
    """Image of elliptical Gaussians in Jy/pixel (RA increasing to the left).

    Each source is evaluated at pixel centres within 6 sigma of its centre;
    the pixel values sum to its integrated flux.

    Parameters
    ----------
    sources : dict
        ``x``, ``y`` (0-based pixel), ``flux`` (Jy), ``fwhm_maj``, ``fwhm_min``
        (arcsec) and ``pa`` (deg east of north), as `draw_sources` gives.
    size : int
        Side of the square image in pixels.
    pixel_scale_arcsec : float
        Pixel size, arcsec.
    dtype : dtype, optional
        Of the result (summed in float64). Default float32.

    Returns
    -------
    sky : `~numpy.ndarray`
        ``(size, size)`` sky model, Jy/pixel.
    """
    sky = np.zeros((size, size), dtype=np.float64)
    for x0, y0, flux, fmaj, fmin, pa in zip(*(sources[k] for k in SOURCE_FIELDS)):
        s_maj = fmaj * FWHM_TO_SIGMA / pixel_scale_arcsec
        s_min = fmin * FWHM_TO_SIGMA / pixel_scale_arcsec
        half = int(np.ceil(6 * s_maj)) + 1
        x_lo, x_hi = max(int(x0) - half, 0), min(int(x0) + half + 1, size)
        y_lo, y_hi = max(int(y0) - half, 0), min(int(y0) + half + 1, size)
        if x_lo >= x_hi or y_lo >= y_hi:
            continue
        dy, dx = np.mgrid[y_lo:y_hi, x_lo:x_hi]
        dx = dx - x0
        dy = dy - y0
        theta = np.radians(pa)
        # East is -x: the major axis points to (-sin pa, cos pa) in pixels.
        along = -dx * np.sin(theta) + dy * np.cos(theta)
        across = dx * np.cos(theta) + dy * np.sin(theta)
        profile = np.exp(-0.5 * ((along / s_maj) ** 2 + (across / s_min) ** 2))
        sky[y_lo:y_hi, x_lo:x_hi] += flux * profile / (2 * np.pi * s_maj * s_min)
    return sky.astype(dtype)


def airy_primary_beam(radius_rad, frequency_hz, dish_diameter_m, blockage_diameter_m):
    """Power pattern of a uniformly illuminated, centrally blocked circular aperture.

    Parameters
    ----------
    radius_rad : float or array-like
        Angular distance from the pointing centre, radians.
    frequency_hz : float
        Observing frequency, Hz.
    dish_diameter_m : float
        Dish diameter, m.
    blockage_diameter_m : float
        Diameter of the central blockage, m (less than the dish's).

    Returns
    -------
    power : `~numpy.ndarray`
        The normalised power pattern, 1 on axis, same shape as ``radius_rad``.
    """
    wavelength = 299792458.0 / frequency_hz
    x = np.pi * dish_diameter_m * np.sin(np.asarray(radius_rad, dtype=float)) / wavelength
    ratio = blockage_diameter_m / dish_diameter_m

    def jinc(t):
        t = np.asarray(t, dtype=float)
        out = np.ones_like(t)
        nonzero = t != 0
        out[nonzero] = 2 * special.j1(t[nonzero]) / t[nonzero]
        return out

    amplitude = (jinc(x) - ratio**2 * jinc(x * ratio)) / (1 - ratio**2)
    return amplitude**2


def primary_beam(config):
    """Primary beam on the image grid (peak 1 at the phase centre).

    Parameters
    ----------
    config : `~astro_i2i.simulate.SimulationConfig`
        Its image size and pixel scale, observing frequency and the
        ``primary_beam`` dish and blockage diameters.

    Returns
    -------
    pb : `~numpy.ndarray`
        ``(size, size)`` float32 `airy_primary_beam`, centred on 0-based pixel
        ``(size / 2, size / 2)``.
    """
    size, scale = config.image.size, config.image.pixel_scale_arcsec
    offsets = (np.arange(size) - size / 2) * scale * ARCSEC
    radius = np.hypot(offsets[np.newaxis, :], offsets[:, np.newaxis])
    pb = config.primary_beam
    return airy_primary_beam(
        radius, config.observation.frequency_ghz * 1e9, pb.dish_diameter_m, pb.blockage_diameter_m
    ).astype(np.float32)
