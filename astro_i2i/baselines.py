"""Classical reference points: the catalogue of the true sky, and CLEAN (radler) + catalogue."""

import contextlib
import logging
import os
import sys

import numpy as np
from astropy import units as u
from scipy import signal

from .catalog import find_sources, noise_sigma

__all__ = ["true_sky_catalog", "clean", "clean_catalog"]

logger = logging.getLogger(__name__)


def true_sky_catalog(sky, wcs, **kwargs):
    """Catalogue of a true sky model (Jy/pixel): the upper bound of any reconstruction."""
    return find_sources(sky, wcs, unit="Jy/pixel", **kwargs)


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C++ code that prints to file descriptor 1 (radler)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def clean(dirty, psf, beam, *, pixel_scale, nsigma=3.0, gain=0.1, max_iterations=20000, multiscale=True):
    """Deconvolve a dirty image with radler (WSClean's deconvolver) and restore it.

    Image-domain minor cycles only (there are no visibilities to predict), with
    a noise-based stopping threshold of ``nsigma`` times the robust noise of
    the dirty image; the model is restored with a Gaussian ``beam`` of peak 1
    and the residual added, as WSClean and tclean do.

    Parameters
    ----------
    dirty : `~numpy.ndarray`
        Dirty image, Jy/beam; NaN pixels are treated as 0 and stay NaN.
    psf : `~numpy.ndarray`
        PSF on the same grid, peak 1 at pixel (n/2, n/2).
    beam : `~radio_beam.Beam`
        Restoring beam (the fitted PSF main lobe).
    pixel_scale : `~astropy.units.Quantity`
        Pixel size.
    nsigma : float, optional
        Stopping threshold in units of the dirty image's robust noise.

    Returns
    -------
    restored, model, residual : `~numpy.ndarray`
        Restored image (Jy/beam), CLEAN components (Jy/pixel), residual (Jy/beam).
    """
    import radler

    dirty = np.asarray(dirty, dtype=np.float32)
    psf = np.asarray(psf, dtype=np.float32)
    if dirty.shape != psf.shape:
        raise ValueError(f"dirty image {dirty.shape} and PSF {psf.shape} must have the same shape")
    blank = ~np.isfinite(dirty)
    residual = np.ascontiguousarray(np.where(blank, 0, dirty), dtype=np.float32)
    model = np.zeros_like(residual)
    psf = np.ascontiguousarray(np.nan_to_num(psf), dtype=np.float32)
    pixel_rad = u.Quantity(pixel_scale).to_value(u.rad)

    settings = radler.Settings()
    settings.trimmed_image_height, settings.trimmed_image_width = dirty.shape
    settings.pixel_scale.x = settings.pixel_scale.y = pixel_rad
    settings.algorithm_type = radler.AlgorithmType.multiscale if multiscale else radler.AlgorithmType.generic_clean
    settings.minor_loop_gain = gain
    settings.minor_iteration_count = max_iterations
    settings.absolute_threshold = float(nsigma * noise_sigma(dirty))
    settings.thread_count = 1
    with _quiet_stdout():
        deconvolver = radler.Radler(settings, psf, residual, model, beam.major.to_value(u.rad))
        deconvolver.perform(0)
        del deconvolver  # it prints its summary when destroyed

    restored = _restore(model, beam, pixel_scale) + residual
    restored[blank] = np.nan
    residual[blank] = np.nan
    return restored.astype(np.float32), model, residual


def _restore(model, beam, pixel_scale):
    kernel = beam.as_kernel(u.Quantity(pixel_scale)).array
    kernel = kernel / kernel.max()  # peak 1: Jy/pixel components -> Jy/beam
    return signal.fftconvolve(model, kernel, mode="same")


def clean_catalog(dirty, psf, beam, wcs, *, pixel_scale, primary_beam=None, nsigma_clean=3.0, nsigma_detect=5.0,
                  nsigma_island=3.0):  # fmt: skip
    """CLEAN + catalogue: the radio astronomer's default.

    Sources are islands above ``nsigma_island`` times the restored image's
    robust noise with a peak above ``nsigma_detect`` times it (PyBDSF's
    defaults, 3 and 5), measured by Gaussian fits; with ``primary_beam``,
    fluxes are corrected by the primary beam at each source's position.

    Returns
    -------
    catalog : `~astropy.table.QTable`
    restored : `~numpy.ndarray`
    """
    restored, _, _ = clean(dirty, psf, beam, pixel_scale=pixel_scale, nsigma=nsigma_clean)
    catalog = find_sources(restored, wcs, unit="Jy/beam", beam=beam, nsigma=nsigma_detect, island_nsigma=nsigma_island)
    if primary_beam is not None and len(catalog):
        x = np.clip(np.rint(catalog["x"].value).astype(int), 0, restored.shape[1] - 1)
        y = np.clip(np.rint(catalog["y"].value).astype(int), 0, restored.shape[0] - 1)
        gain = np.asarray(primary_beam)[y, x]
        catalog["flux"] = catalog["flux"] / gain
        catalog["peak"] = catalog["peak"] / gain
        catalog.meta["primary_beam_corrected"] = True
    return catalog, restored
