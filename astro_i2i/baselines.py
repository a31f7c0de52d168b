"""Classical reference points: the catalogue of the true sky, CLEAN (radler) + catalogue, and PyBDSF.

radler (``pip install astro-i2i[clean]``) and PyBDSF (``pip install
astro-i2i[baselines]``, which brings both) are optional: the functions that need
them raise `ImportError` with the command that installs them.
"""

import contextlib
import io
import logging
import os
import sys

import numpy as np
from astropy import units as u
from scipy import signal

from .catalog import find_sources, noise_sigma

__all__ = ["true_sky_catalog", "clean", "clean_catalog", "restored_catalog", "pybdsf_catalog"]

logger = logging.getLogger(__name__)


def true_sky_catalog(sky, wcs, **kwargs):
    """Catalogue of a true sky model (Jy/pixel): the upper bound of any reconstruction."""
    return find_sources(sky, wcs, unit="Jy/pixel", **kwargs)


def _optional(module, extra):
    """Import an optional baseline dependency, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"this baseline needs {module!r}: pip install 'astro-i2i[{extra}]'") from None


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
    radler = _optional("radler", "clean")

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
    catalog = restored_catalog(restored, wcs, beam, primary_beam=primary_beam, nsigma_detect=nsigma_detect,
                               nsigma_island=nsigma_island)  # fmt: skip
    return catalog, restored


def restored_catalog(restored, wcs, beam, *, primary_beam=None, nsigma_detect=5.0, nsigma_island=3.0):
    """The package's catalogue of a restored (CLEAN) image: `clean_catalog` without the CLEAN."""
    catalog = find_sources(restored, wcs, unit="Jy/beam", beam=beam, nsigma=nsigma_detect, island_nsigma=nsigma_island)
    if primary_beam is not None and len(catalog):
        x = np.clip(np.rint(catalog["x"].value).astype(int), 0, restored.shape[1] - 1)
        y = np.clip(np.rint(catalog["y"].value).astype(int), 0, restored.shape[0] - 1)
        gain = np.asarray(primary_beam)[y, x]
        catalog["flux"] = catalog["flux"] / gain
        catalog["peak"] = catalog["peak"] / gain
        catalog.meta["primary_beam_corrected"] = True
    return catalog


def pybdsf_catalog(image, wcs, beam, *, frequency, primary_beam=None, thresh_pix=5.0, thresh_isl=3.0):
    """The field's catalogue: PyBDSF (``bdsf.process_image``) on a restored image, Gaussians grouped into sources.

    The image must not be primary-beam corrected: PyBDSF runs with a constant
    rms and a zero mean (``rms_map=False``, ``mean_map='zero'``).

    Parameters
    ----------
    image : `~numpy.ndarray`
        Restored image, Jy/beam; NaN pixels are blanked.
    wcs : `~astropy.wcs.WCS`
        Its 2-D celestial WCS.
    beam : `~radio_beam.Beam`
        Restoring beam.
    frequency : `~astropy.units.Quantity`
        Observing frequency (PyBDSF needs one).
    primary_beam : `~numpy.ndarray`, optional
        Primary-beam gain; fluxes are divided by it at each source's position.
    thresh_pix, thresh_isl : float, optional
        PyBDSF's peak and island thresholds in sigma (its defaults, 5 and 3).

    Returns
    -------
    catalog : `~astropy.table.QTable`
        ``ra``, ``dec`` (deg), ``flux``, ``flux_err`` (Jy, PyBDSF Total_flux
        and E_Total_flux), ``peak`` (Jy/beam), ``x``, ``y`` (0-based pixels).
    """
    import gc
    import tempfile

    from astropy.io import fits
    from astropy.table import QTable

    bdsf = _optional("bdsf", "baselines")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, not {image.ndim}-D")
    header = wcs.to_header()
    header.update(beam.to_header_keywords())
    header["BUNIT"] = "Jy/beam"
    columns = {"ra": [], "dec": [], "flux": [], "flux_err": [], "peak": [], "x": [], "y": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "restored.fits")
        fits.PrimaryHDU(image, header).writeto(path)
        # PyBDSF calls gc.collect() after each of its ~16 steps; in a process holding torch and many images that
        # took 8.7 s of its 9.2 s per 512 x 512 image (cProfile). Freezing the heap it did not make skips it.
        gc.freeze()
        try:
            with _quiet_stdout(), contextlib.redirect_stderr(io.StringIO()):  # its per-call console handler
                # A restored image that is not primary-beam corrected has a uniform noise: a constant rms and
                # zero mean (PyBDSF's rms-map boxes also divide by zero in the blanked corners beyond the PB).
                result = bdsf.process_image(path, frequency=u.Quantity(frequency).to_value(u.Hz),
                                            thresh_pix=thresh_pix, thresh_isl=thresh_isl, rms_map=False,
                                            mean_map="zero", quiet=True)  # fmt: skip
        finally:
            gc.unfreeze()
        sources = list(getattr(result, "sources", []) or [])
    for source in sources:
        ra, dec = source.posn_sky_centroid
        x, y = wcs.world_to_pixel_values(ra, dec)
        columns["ra"].append(ra)
        columns["dec"].append(dec)
        columns["x"].append(float(x))
        columns["y"].append(float(y))
        columns["flux"].append(source.total_flux)
        columns["flux_err"].append(source.total_fluxE)
        columns["peak"].append(source.peak_flux_max)
    table = {key: np.asarray(values, dtype=float) for key, values in columns.items()}
    if primary_beam is not None and len(sources):
        gain = np.asarray(primary_beam)[np.clip(np.rint(table["y"]).astype(int), 0, image.shape[0] - 1),
                                        np.clip(np.rint(table["x"]).astype(int), 0, image.shape[1] - 1)]  # fmt: skip
        for key in ("flux", "flux_err", "peak"):
            table[key] = table[key] / gain
    units = {"ra": u.deg, "dec": u.deg, "flux": u.Jy, "flux_err": u.Jy, "peak": u.Jy / u.beam, "x": u.pix, "y": u.pix}
    catalog = QTable({key: table[key] * units[key] for key in columns})
    catalog.meta.update({"catalogue": "PyBDSF", "bdsf_version": bdsf.__version__, "thresh_pix": thresh_pix,
                         "thresh_isl": thresh_isl, "primary_beam_corrected": primary_beam is not None})  # fmt: skip
    return catalog
