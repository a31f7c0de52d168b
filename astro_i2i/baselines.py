"""Classical reference points: the matched filter, the true sky's catalogue, CLEAN (radler) + catalogue, and PyBDSF.

`matched_filter_catalog` is the benchmarks' main yardstick: with natural
weighting, the dirty image smoothed by the source's shape is close to the best
detector of isolated sources there is (``docs/models.rst``). radler (``pip
install astro-i2i[clean]``) and PyBDSF (``pip install astro-i2i[baselines]``,
which brings both) are optional: the functions that need them raise
`ImportError` with the command that installs them.
"""

import contextlib
import io
import logging
import numbers
import os
import sys
import warnings

import numpy as np
from astropy import units as u
from astropy.table import QTable
from astropy.wcs import WCS
from scipy import signal

from .catalog import (CATALOG_COLUMNS, DEFAULT_SOURCE_FWHM, POSTERIOR_COLUMNS, find_sources, fit_fluxes, gaussian_psf,
                      local_peaks, matched_filter_snr, noise_sigma, refine_positions)  # fmt: skip

__all__ = ["matched_filter_catalog", "MATCHED_FILTER_COLUMNS", "true_sky_catalog", "clean", "clean_catalog",
           "restored_catalog", "pybdsf_catalog"]

logger = logging.getLogger(__name__)


#: The columns of `matched_filter_catalog`: unit (None: a plain number) and description.
MATCHED_FILTER_COLUMNS = {
    "id": CATALOG_COLUMNS["id"],
    # The posterior catalogue's positions are the same measurement: the matched filter's sub-pixel peak.
    "x": POSTERIOR_COLUMNS["x"],
    "y": POSTERIOR_COLUMNS["y"],
    "ra": (u.deg, "right ascension of the refined position (with a WCS)"),
    "dec": (u.deg, "declination of the refined position (with a WCS)"),
    "mf_snr": (None, "matched-filter S/N at the peak pixel (the smoothed dirty image over its robust noise)"),
    "flux": (u.Jy, "flux density: a PSF-convolved Gaussian of the source's FWHM fitted jointly to the dirty image, "
                   "primary-beam corrected (NaN without a beam or PSF)"),
    "flux_err": (u.Jy, "1-sigma thermal error of the fit (NaN without a beam or PSF)"),
    "primary_beam": (None, "primary-beam response at the peak pixel (1 without one)"),
}  # fmt: skip


def _angle(value, name):
    """``value`` as a positive angular Quantity, or the error that names it."""
    try:
        angle = u.Quantity(value)
    except TypeError:
        raise TypeError(f"{name} must be an angle (a Quantity), not {value!r}") from None
    if not angle.unit.is_equivalent(u.arcsec) or angle.ndim != 0:
        raise TypeError(f"{name} must be an angle (a Quantity), not {value!r}")
    if not angle.to_value(u.arcsec) > 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
    return angle


def _quadratic_centroids(snr, ix, iy, box_size):
    """photutils' 2-D quadratic centroids of peaks ``ix``, ``iy`` of an S/N map; the peak pixel where it fails."""
    from photutils.centroids import centroid_quadratic, centroid_sources

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fit at the map's edge or on a blank neighbour is a normal failure
        cx, cy = centroid_sources(np.nan_to_num(snr, nan=-np.inf), ix, iy, box_size=box_size,
                                  centroid_func=centroid_quadratic)  # fmt: skip
    return np.where(np.isfinite(cx), cx, ix).astype(float), np.where(np.isfinite(cy), cy, iy).astype(float)


def matched_filter_catalog(dirty, wcs=None, *, pixel_scale=None, nsigma=4.0, source_fwhm=DEFAULT_SOURCE_FWHM,
                           beam=None, psf=None, primary_beam=None, box_size=None, centroid="parabola",
                           scales=()):  # fmt: skip
    """The matched filter's catalogue of a dirty image: its peaks above ``nsigma``, with positions, S/N and fluxes.

    The dirty image is smoothed by a Gaussian source of FWHM ``source_fwhm``
    and divided by the result's robust noise
    (`~astro_i2i.catalog.matched_filter_snr`); with natural weighting that map
    is the likelihood-ratio statistic of a source of that size at each
    position. Its local maxima in a box about ``source_fwhm`` across
    (`~astro_i2i.catalog.local_peaks`) above ``nsigma`` are the sources, each
    placed at the sub-pixel peak (`~astro_i2i.catalog.refine_positions`, as
    the models' catalogues place theirs); with
    a ``beam`` or ``psf`` their fluxes are fitted jointly on the dirty image
    (`~astro_i2i.catalog.fit_fluxes`, the fit the models' catalogues use),
    with the primary-beam correction when ``primary_beam`` is given.

    Parameters
    ----------
    dirty : `~numpy.ndarray`
        2-D dirty image, Jy/beam; NaN pixels are blank.
    wcs : `~astropy.wcs.WCS`, optional
        Its 2-D celestial WCS: gives ``ra`` and ``dec`` and, without
        ``pixel_scale``, the pixel size.
    pixel_scale : `~astropy.units.Quantity`, optional
        Angular size of a pixel (default: the WCS's); one of ``wcs`` and
        ``pixel_scale`` is needed.
    nsigma : float, optional
        Detection threshold: peaks of the S/N map above it. The benchmarks
        use 4 (the best F1 on the default set-up's test images), and 2.5 for
        candidates that a reliability then ranks.
    source_fwhm : `~astropy.units.Quantity`, optional
        FWHM of the Gaussian source looked for (the filter's kernel and the
        flux fit's source); default the dataset's typical 0.6".
    beam : `~radio_beam.Beam`, optional
        The synthesized beam: the flux fit's PSF is a Gaussian of it when no
        ``psf`` is given.
    psf : `~numpy.ndarray`, optional
        The dirty beam on the image's pixel grid (peak 1 at ``shape // 2``)
        for the flux fit.
    primary_beam : `~numpy.ndarray`, optional
        Primary-beam response on the image's grid: fluxes are corrected by it
        (they are apparent without it).
    box_size : int, optional
        Side of the box in which a peak is the maximum, pixels; default the
        odd number of pixels nearest ``source_fwhm`` (at least 3; 7 for 0.6"
        at 0.1").
    centroid : {'parabola', 'quadratic'}, optional
        How a peak is placed: ``'parabola'``, a parabola through the peak
        pixel and its two neighbours along each axis
        (`~astro_i2i.catalog.refine_positions`); ``'quadratic'``, a 2-D
        quadratic fitted around it (`photutils.centroids.centroid_quadratic`
        in the ``box_size`` box; the peak pixel where the fit fails), which
        ``benchmarks/studies/detection_ceiling.py`` uses.
    scales : sequence of `~astropy.units.Quantity`, optional
        Further source FWHMs at which the matched filter's S/N is also read
        at each peak, in columns ``mf_<FWHM in arcsec>`` (``mf_0.4`` for
        0.4"): features for a reliability model.

    Returns
    -------
    catalog : `~astropy.table.QTable`
        One row per peak, highest S/N first, with the columns of
        `MATCHED_FILTER_COLUMNS` (``ra`` and ``dec`` only with a WCS) and the
        ``mf_<FWHM>`` of ``scales``; ``meta`` holds ``noise`` (the dirty
        image's robust noise, Jy/beam), ``nsigma``, ``source_fwhm`` (arcsec)
        and ``box_size``. Empty, with every column, when there is no peak.

    Raises
    ------
    TypeError
        If an argument is of the wrong kind (``source_fwhm`` not an angle,
        ``wcs`` not a `~astropy.wcs.WCS`, ...).
    ValueError
        If a value is out of range or shapes disagree (a 3-D ``dirty``, a
        ``primary_beam`` of another shape, neither ``wcs`` nor ``pixel_scale``).

    See Also
    --------
    astro_i2i.catalog.posterior_catalog : a network's catalogue, measured on
        the dirty image the same way.

    Notes
    -----
    Sources are looked for at one size; two sources closer than about
    ``box_size`` pixels are one peak. Without a beam or PSF the fluxes are
    NaN: the catalogue then gives positions and S/N only.

    Examples
    --------
    A 0.5 mJy source in white noise of 50 uJy/beam:

    >>> import numpy as np
    >>> from astropy import units as u
    >>> from astro_i2i.baselines import matched_filter_catalog
    >>> rng = np.random.default_rng(0)
    >>> yy, xx = np.mgrid[:128, :128]
    >>> dirty = rng.normal(0, 50e-6, (128, 128)) + 5e-4 * np.exp(-((xx - 60) ** 2 + (yy - 70) ** 2) / 2 / 4**2)
    >>> catalog = matched_filter_catalog(dirty, pixel_scale=0.1 * u.arcsec, nsigma=6)
    >>> len(catalog), round(float(catalog["x"][0].value)), round(float(catalog["y"][0].value))
    (1, 60, 70)
    """
    data = np.asarray(dirty)
    if data.ndim != 2:
        raise ValueError(f"dirty must be a 2-D image, not of shape {data.shape}")
    if not (np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)):
        raise TypeError(f"dirty must hold real numbers, not {data.dtype}")
    if wcs is not None:
        if not isinstance(wcs, WCS):
            raise TypeError(f"wcs must be an astropy.wcs.WCS, not {type(wcs).__name__}")
        if wcs.pixel_n_dim != 2 or not wcs.has_celestial:
            raise ValueError(f"wcs must be the image's 2-D celestial WCS (wcs.celestial), not {wcs.pixel_n_dim}-D "
                             f"with axes {wcs.world_axis_physical_types}")  # fmt: skip
    if pixel_scale is None:
        if wcs is None:
            raise ValueError("give wcs or pixel_scale: the matched filter's kernel is an angle")
        pixel_scale = wcs.proj_plane_pixel_scales()[0].to(u.arcsec)
    else:
        pixel_scale = _angle(pixel_scale, "pixel_scale").to(u.arcsec)
    source_fwhm = _angle(source_fwhm, "source_fwhm")
    if isinstance(scales, u.Quantity) and scales.isscalar:
        scales = [scales]
    scales = [_angle(scale, f"scales[{k}]") for k, scale in enumerate(scales)]
    if isinstance(nsigma, bool) or not isinstance(nsigma, numbers.Real):
        raise TypeError(f"nsigma must be a number, not {nsigma!r}")
    if not np.isfinite(nsigma):
        raise ValueError(f"nsigma must be finite, not {nsigma!r}")
    if box_size is None:
        box_size = max(3, 2 * int(round(float((source_fwhm / pixel_scale).decompose()) / 2)) + 1)
    elif isinstance(box_size, bool) or not isinstance(box_size, numbers.Integral) or box_size < 1:
        raise ValueError(f"box_size must be a positive integer, not {box_size!r}")
    if centroid not in ("parabola", "quadratic"):
        raise ValueError(f"centroid must be 'parabola' or 'quadratic', not {centroid!r}")
    if beam is not None and not (hasattr(beam, "major") and hasattr(beam, "minor") and hasattr(beam, "pa")):
        raise TypeError(f"beam must be a radio_beam.Beam, not {type(beam).__name__}")
    if psf is not None and np.ndim(psf) != 2:
        raise ValueError(f"psf must be a 2-D image, not of shape {np.shape(psf)}")
    if primary_beam is not None and np.shape(primary_beam) != data.shape:
        raise ValueError(f"primary_beam has shape {np.shape(primary_beam)}, the dirty image {data.shape}")

    snr = matched_filter_snr(data, pixel_scale=pixel_scale, source_fwhm=source_fwhm)
    ix, iy = local_peaks(snr, nsigma, box_size=box_size)
    x, y, value = refine_positions(ix, iy, snr, radius=0.0)
    if centroid == "quadratic" and len(ix):
        x, y = _quadratic_centroids(snr, ix, iy, box_size)
    noise = noise_sigma(data)
    if psf is None and beam is not None:
        psf = gaussian_psf(beam, pixel_scale, 49)
    if psf is None:
        flux = flux_err = np.full(len(x), np.nan)
    else:
        flux, flux_err = fit_fluxes(data, x, y, psf=psf, pixel_scale=pixel_scale, primary_beam=primary_beam,
                                    source_fwhm=source_fwhm, noise=noise)  # fmt: skip
    values = {"id": np.arange(1, len(x) + 1), "x": x, "y": y, "mf_snr": value, "flux": flux, "flux_err": flux_err,
              "primary_beam": np.ones(len(x)) if primary_beam is None else
              np.asarray(primary_beam, dtype=float)[iy, ix]}  # fmt: skip
    if wcs is not None:
        coords = wcs.pixel_to_world(x, y)
        values["ra"] = np.atleast_1d(coords.spherical.lon.deg)
        values["dec"] = np.atleast_1d(coords.spherical.lat.deg)
    catalog = QTable(meta={"catalogue": "matched filter", "noise": noise, "nsigma": float(nsigma),
                           "source_fwhm": source_fwhm.to_value(u.arcsec), "box_size": int(box_size)})  # fmt: skip
    for name, (unit, description) in MATCHED_FILTER_COLUMNS.items():
        if name in values:
            catalog[name] = values[name] * unit if unit is not None else values[name]
            catalog[name].description = description
    for scale in scales:
        name = f"mf_{scale.to_value(u.arcsec):g}"
        catalog[name] = matched_filter_snr(data, pixel_scale=pixel_scale, source_fwhm=scale)[iy, ix]
        catalog[name].description = f"matched-filter S/N at the peak pixel for a {scale.to_value(u.arcsec):g}\" source"
    return catalog


def true_sky_catalog(sky, wcs, **kwargs):
    """Catalogue of a true sky model (Jy/pixel): the upper bound of any reconstruction.

    Parameters
    ----------
    sky : `~numpy.ndarray`
        The true sky model, Jy/pixel.
    wcs : `~astropy.wcs.WCS`
        Its 2-D celestial WCS.
    **kwargs
        Passed to `~astro_i2i.catalog.find_sources` (``nsigma``,
        ``threshold``, ``npixels``, ...); ``unit`` is ``'Jy/pixel'``.

    Returns
    -------
    catalog : `~astropy.table.QTable`
        As `~astro_i2i.catalog.find_sources` gives it.
    """
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
    gain : float, optional
        radler's minor-loop gain. Default 0.1.
    max_iterations : int, optional
        radler's minor iteration count. Default 20000.
    multiscale : bool, optional
        radler's multi-scale algorithm rather than its generic CLEAN.
        Default True.

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

    Parameters
    ----------
    dirty : `~numpy.ndarray`
        Dirty image, Jy/beam; NaN pixels are blank.
    psf : `~numpy.ndarray`
        PSF on the same grid, peak 1 at pixel (n/2, n/2).
    beam : `~radio_beam.Beam`
        Restoring beam.
    wcs : `~astropy.wcs.WCS`
        The image's 2-D celestial WCS.
    pixel_scale : `~astropy.units.Quantity`
        Pixel size.
    primary_beam : `~numpy.ndarray`, optional
        Primary-beam gain on the image's grid; default None, no correction.
    nsigma_clean : float, optional
        CLEAN stopping threshold in units of the dirty image's robust noise
        (`clean`). Default 3.0.
    nsigma_detect : float, optional
        Peak threshold of a source. Default 5.0.
    nsigma_island : float, optional
        Island threshold. Default 3.0.

    Returns
    -------
    catalog : `~astropy.table.QTable`
    restored : `~numpy.ndarray`
        The restored image, Jy/beam.
    """
    restored, _, _ = clean(dirty, psf, beam, pixel_scale=pixel_scale, nsigma=nsigma_clean)
    catalog = restored_catalog(restored, wcs, beam, primary_beam=primary_beam, nsigma_detect=nsigma_detect,
                               nsigma_island=nsigma_island)  # fmt: skip
    return catalog, restored


def restored_catalog(restored, wcs, beam, *, primary_beam=None, nsigma_detect=5.0, nsigma_island=3.0):
    """The package's catalogue of a restored (CLEAN) image: `clean_catalog` without the CLEAN.

    Parameters
    ----------
    restored : `~numpy.ndarray`
        Restored image, Jy/beam.
    wcs : `~astropy.wcs.WCS`
        Its 2-D celestial WCS.
    beam : `~radio_beam.Beam`
        Restoring beam (fluxes are sums over the beam area).
    primary_beam : `~numpy.ndarray`, optional
        Primary-beam gain; ``flux`` and ``peak`` are divided by it at each
        source's nearest pixel. Default None.
    nsigma_detect : float, optional
        Peak threshold in units of the robust noise. Default 5.0.
    nsigma_island : float, optional
        Island threshold. Default 3.0.

    Returns
    -------
    catalog : `~astropy.table.QTable`
        As `~astro_i2i.catalog.find_sources` gives it; ``meta['primary_beam_corrected']``
        is True after a correction.
    """
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
