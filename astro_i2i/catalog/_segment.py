"""Source catalogues from sky models and restored images (photutils; no torch)."""

import logging
import warnings

import numpy as np
from astropy import units as u
from astropy.stats import mad_std
from astropy.table import QTable
from astropy.wcs import WCS
from scipy import optimize
from radio_beam import Beam

__all__ = ["find_sources", "noise_sigma", "sky_model_threshold", "CATALOG_COLUMNS", "DEBLEND_MAX_FRACTION"]

logger = logging.getLogger(__name__)

#: Column name -> (unit or None, meaning).
CATALOG_COLUMNS = {
    "id": (None, "source number, from 1"),
    "ra": (u.deg, "right ascension of the flux-weighted centroid"),
    "dec": (u.deg, "declination of the flux-weighted centroid"),
    "x": (u.pix, "0-based pixel x of the centroid"),
    "y": (u.pix, "0-based pixel y of the centroid"),
    "flux": (u.Jy, "integrated flux density (PyBDSF Total_flux): segment sum, or Gaussian fit for Jy/beam"),
    "flux_err": (u.Jy, "its 1-sigma uncertainty (PyBDSF E_Total_flux); NaN without an uncertainty map"),
    "peak": (None, "peak pixel value, in the image's unit (PyBDSF Peak_flux)"),
    "snr": (None, "flux / flux_err with an uncertainty map, else peak / image noise"),
    "fwhm_maj": (u.arcsec, "FWHM of the major axis from second moments (PyBDSF Maj, not deconvolved)"),
    "fwhm_min": (u.arcsec, "FWHM of the minor axis (PyBDSF Min)"),
    "pa": (u.deg, "position angle of the major axis, east of north, 0-180 (PyBDSF PA)"),
    "detection_fraction": (None, "fraction of uncertainty samples in which the source is found (NaN if not computed)"),
}

_SIGMA_TO_FWHM = np.sqrt(8 * np.log(2))
#: Above this fraction of the finite pixels in segments, `find_sources` does not deblend.
DEBLEND_MAX_FRACTION = 0.25
# A noiseless sky's threshold, as a fraction of its peak: F1 99.70 at 1e-3 and 1e-4 merges neighbours (99.59) on the
# 500 test images (benchmarks/true_sky.py).
_NOISELESS_FRACTION = 1e-3


def noise_sigma(image):
    """Robust noise of an image: the MAD-based standard deviation of its finite pixels.

    Parameters
    ----------
    image : array-like
        The image (any unit); non-finite pixels are ignored.

    Returns
    -------
    sigma : float
        `~astropy.stats.mad_std` of the finite pixels, in the image's unit;
        NaN when none is finite.
    """
    finite = np.asarray(image)[np.isfinite(image)]
    return float(mad_std(finite)) if finite.size else float("nan")


def sky_model_threshold(dirty, beam_area_pixels, *, nsigma):
    """Detection threshold (Jy/pixel) for a sky model reconstructed from ``dirty``.

    A reconstructed sky has almost no noise of its own, so its MAD says
    nothing about which features are real. The threshold is instead tied to
    the dirty image's noise: ``nsigma`` times its robust noise (Jy/beam)
    spread over the beam area (pixels). Trained models carry the ``nsigma``
    that maximised F1 on their validation set.

    Parameters
    ----------
    dirty : `~numpy.ndarray`
        The dirty image (Jy/beam); NaN pixels are ignored.
    beam_area_pixels : float
        The synthesized beam's area in pixels.
    nsigma : float
        The threshold in units of the dirty noise per beam area.

    Returns
    -------
    threshold : float
        ``nsigma * noise_sigma(dirty) / beam_area_pixels``, Jy/pixel.

    Raises
    ------
    ValueError
        ``beam_area_pixels`` or ``nsigma`` not positive.
    """
    if not beam_area_pixels > 0:
        raise ValueError(f"beam_area_pixels must be positive, not {beam_area_pixels!r}")
    if not nsigma > 0:
        raise ValueError(f"nsigma must be positive, not {nsigma!r}")
    return nsigma * noise_sigma(dirty) / beam_area_pixels


def _empty_table():
    table = QTable()
    for name, (unit, description) in CATALOG_COLUMNS.items():
        dtype = int if name == "id" else float
        column = np.zeros(0, dtype=dtype)
        table[name] = column * unit if unit is not None else column
        table[name].description = description
    return table


_SKY_UNIT, _BEAM_UNIT = u.Jy / u.pix, u.Jy / u.beam


def _brightness_unit(unit):
    """``unit`` as 'Jy/pixel' or 'Jy/beam', from an astropy unit or its string."""
    try:
        parsed = u.Unit(unit)
    except (TypeError, ValueError):
        parsed = None
    for target, name in ((_SKY_UNIT, "Jy/pixel"), (_BEAM_UNIT, "Jy/beam")):
        if parsed == target:
            return name
    raise ValueError(f"unit must be Jy/pixel or Jy/beam (an astropy unit or its string), not {unit!r}")


def find_sources(image, wcs, *, unit=_SKY_UNIT, uncertainty=None, beam=None, nsigma=5.0, threshold=None,
                 npixels=5, deblend=True, island_nsigma=None):  # fmt: skip
    """Detect and measure sources with photutils (detect, deblend, SourceCatalog).

    Parameters
    ----------
    image : `~numpy.ndarray`
        2-D image; NaN pixels are ignored.
    wcs : `~astropy.wcs.WCS`
        Its 2-D celestial WCS.
    unit : `~astropy.units.Unit` or str, optional
        ``u.Jy / u.pix`` (or ``'Jy/pixel'``) for a sky model (flux = sum of
        pixels); ``u.Jy / u.beam`` (``'Jy/beam'``) for a restored CLEAN image (flux = sum / beam area in pixels, which
        needs ``beam``).
    uncertainty : `~numpy.ndarray`, optional
        Per-pixel standard deviation, same unit as ``image``.
    beam : `~radio_beam.Beam`, optional
        Needed for ``unit='Jy/beam'``.
    nsigma : float, optional
        Detection threshold in units of the noise.
    threshold : float or `~numpy.ndarray`, optional
        An absolute threshold, instead of ``nsigma`` times the noise.
    npixels : int, optional
        Minimum number of connected pixels above the threshold.
    deblend : bool, optional
        Split blended sources (photutils ``deblend_sources``).
    island_nsigma : float, optional
        If given, sources are the islands above ``island_nsigma`` times the
        noise whose peak exceeds the detection threshold (PyBDSF's
        ``thresh_isl`` and ``thresh_pix``, 3 and 5 by default there): their
        measurement then uses more of each source.

    Returns
    -------
    catalog : `~astropy.table.QTable`
        Columns `CATALOG_COLUMNS`, one row per source, brightest first. The
        table's ``meta`` records the threshold rule (``thresh``), the image
        noise (``noise``), the image ``unit`` and the celestial ``frame``.

    Notes
    -----
    The threshold is ``nsigma`` times the noise: with an uncertainty map,
    per pixel ``sqrt(uncertainty**2 + sigma**2)``, otherwise the image's robust
    noise ``sigma`` (MAD of the finite pixels). A noiseless image (a true sky
    model, sigma = 0) is thresholded at 1e-3 of its peak instead.
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, not {image.ndim}-D")
    if not isinstance(wcs, WCS) or wcs.pixel_n_dim != 2:
        raise TypeError("wcs must be a 2-D astropy WCS")
    unit = _brightness_unit(unit)
    if unit == "Jy/beam" and not isinstance(beam, Beam):
        raise ValueError("unit='Jy/beam' needs the beam to turn sums into fluxes")
    if uncertainty is not None:
        uncertainty = np.asarray(uncertainty, dtype=float)
        if uncertainty.shape != image.shape:
            raise ValueError(f"uncertainty has shape {uncertainty.shape}, image {image.shape}")
    if nsigma <= 0:
        raise ValueError(f"nsigma must be positive, not {nsigma!r}")

    mask = ~np.isfinite(image)
    sigma = noise_sigma(image)
    if threshold is None:
        if uncertainty is not None:
            threshold = nsigma * np.sqrt(np.nan_to_num(uncertainty) ** 2 + sigma**2)
            rule = f"{nsigma:g} x sqrt(uncertainty^2 + sigma^2)"
        elif sigma > 0:
            threshold = nsigma * sigma
            rule = f"{nsigma:g} x sigma"
        else:
            threshold = _NOISELESS_FRACTION * np.nanmax(image) if np.any(~mask) else 0.0
            rule = f"noiseless image: {_NOISELESS_FRACTION:g} x peak"
    else:
        rule = "given"
    table = _empty_table()
    table.meta.update({"thresh": rule, "noise": sigma, "unit": unit,
                       "frame": wcs.wcs.radesys.lower() or "icrs"})  # fmt: skip
    if np.all(mask) or (np.isscalar(threshold) and not threshold > 0):
        return table
    # photutils (0.2 s to import, with matplotlib for its tables' metadata) only where segmentation runs.
    from photutils.segmentation import SourceCatalog, deblend_sources, detect_sources
    from photutils.utils.exceptions import NoDetectionsWarning

    data = np.where(mask, 0.0, image)
    detect_at = threshold if island_nsigma is None else threshold * (island_nsigma / nsigma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)  # an empty field is a normal answer
        segments = detect_sources(data, detect_at, npixels, mask=mask)
    if segments is None:
        return table
    if deblend and segments.n_labels > 0:
        covered = np.count_nonzero(segments.data) / max(1, np.count_nonzero(~mask))
        if covered > DEBLEND_MAX_FRACTION:
            # Watershed over segments this large takes minutes; such a threshold lies in the noise anyway.
            logger.debug("%.0f %% of the image lies above the threshold: segments are not deblended", 100 * covered)
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The deblending mode")  # photutils' own fallback note
                segments = deblend_sources(data, segments, npixels, progress_bar=False)
    if island_nsigma is not None:
        peak_threshold = np.broadcast_to(threshold, data.shape)
        faint = [label for label, slc in zip(segments.labels, segments.slices)
                 if not np.any((segments.data[slc] == label) & (data[slc] > peak_threshold[slc]))]  # fmt: skip
        if faint:
            segments.remove_labels(faint)
        if segments.n_labels == 0:
            return table
    error = None if uncertainty is None else np.nan_to_num(uncertainty)
    catalog = SourceCatalog(data, segments, error=error, mask=mask, wcs=wcs)

    peak = np.asarray(catalog.max_value, dtype=float)
    pixel = wcs.proj_plane_pixel_scales()[0].to_value(u.arcsec)
    if unit == "Jy/pixel":
        # A sky model: the segment holds the whole source; sum it, moments for the shape.
        flux = np.asarray(catalog.segment_flux, dtype=float)
        flux_err = np.asarray(catalog.segment_flux_err, dtype=float) if error is not None else np.full(len(flux), np.nan)
        x, y = np.asarray(catalog.x_centroid, dtype=float), np.asarray(catalog.y_centroid, dtype=float)
        major_pix = np.asarray(catalog.semimajor_axis.value, dtype=float)
        minor_pix = np.asarray(catalog.semiminor_axis.value, dtype=float)
        orientation = np.asarray(catalog.orientation.to_value(u.rad), dtype=float)
    else:
        # A restored image: the segment holds only the source's top; fit a Gaussian, as PyBDSF does.
        beam_pixels = _beam_area_pixels(beam, wcs)
        fits_ = [_fit_gaussian(data, segments.data, label, mask) for label in catalog.labels]
        x, y, amplitude, major_pix, minor_pix, orientation = (np.array(v, dtype=float) for v in zip(*fits_))
        flux = 2 * np.pi * amplitude * major_pix * minor_pix / beam_pixels
        flux_err = np.full(len(flux), np.nan)
        if error is not None:
            flux_err = np.asarray(catalog.segment_flux_err, dtype=float) / beam_pixels
    snr = flux / flux_err if error is not None else (peak / sigma if sigma > 0 else np.full(len(flux), np.inf))
    sky = wcs.pixel_to_world(x, y)
    major = major_pix * _SIGMA_TO_FWHM * pixel
    minor = minor_pix * _SIGMA_TO_FWHM * pixel
    pa = _position_angle(orientation, wcs)

    order = np.argsort(-flux)
    values = {
        "id": np.arange(1, len(flux) + 1),
        "ra": sky.spherical.lon.deg[order],
        "dec": sky.spherical.lat.deg[order],
        "x": x[order],
        "y": y[order],
        "flux": flux[order],
        "flux_err": flux_err[order],
        "peak": peak[order],
        "snr": snr[order],
        "fwhm_maj": major[order],
        "fwhm_min": minor[order],
        "pa": pa[order],
        "detection_fraction": np.full(len(flux), np.nan),
    }
    result = QTable(meta=table.meta)
    for name, (unit_, description) in CATALOG_COLUMNS.items():
        result[name] = values[name] * unit_ if unit_ is not None else values[name]
        result[name].description = description
    result["peak"].description = f"peak pixel value ({unit})"
    return result


def _fit_gaussian(data, labels, label, mask, margin=4):
    """Elliptical Gaussian fitted to one segment (other segments masked), in pixels.

    Returns x, y, amplitude, sigma_major, sigma_minor, orientation (rad from +x).
    """
    ys, xs = np.nonzero(labels == label)
    y0, y1 = max(ys.min() - margin, 0), min(ys.max() + margin + 1, data.shape[0])
    x0, x1 = max(xs.min() - margin, 0), min(xs.max() + margin + 1, data.shape[1])
    cut = data[y0:y1, x0:x1]
    use = (labels[y0:y1, x0:x1] == label) & ~mask[y0:y1, x0:x1]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    values, xv, yv = cut[use], xx[use], yy[use]
    weights = np.clip(values, 0, None)
    xc, yc = np.sum(weights * xv) / weights.sum(), np.sum(weights * yv) / weights.sum()
    cov = np.cov(np.stack([xv, yv]), aweights=weights + 1e-30) if len(values) > 2 else np.eye(2)
    start_precision = np.linalg.inv(cov + 0.5 * np.eye(2))

    def model(params):
        amplitude, mx, my, a, b, c = params
        dx, dy = xv - mx, yv - my
        return amplitude * np.exp(-0.5 * (a * dx * dx + 2 * b * dx * dy + c * dy * dy))

    start = [values.max(), xc, yc, start_precision[0, 0], start_precision[0, 1], start_precision[1, 1]]
    fit = optimize.least_squares(lambda p: model(p) - values, start, method="trf")
    amplitude, mx, my, a, b, c = fit.x
    precision = np.array([[a, b], [b, c]])
    eigvals, eigvecs = np.linalg.eigh(precision)
    if not fit.success or np.any(eigvals <= 0) or not (x0 <= mx < x1 and y0 <= my < y1):
        # Fall back to the moments of the segment.
        eigvals, eigvecs = np.linalg.eigh(start_precision)
        amplitude, mx, my = values.max(), xc, yc
    sigma_major, sigma_minor = 1 / np.sqrt(eigvals[0]), 1 / np.sqrt(eigvals[1])
    orientation = np.arctan2(eigvecs[1, 0], eigvecs[0, 0])
    return mx, my, amplitude, sigma_major, sigma_minor, orientation


def _beam_area_pixels(beam, wcs):
    pixel = wcs.proj_plane_pixel_scales()[0].to(u.arcsec)
    return float((beam.sr / pixel**2).decompose())


def _position_angle(orientation_rad, wcs):
    """photutils orientation (from +x, counter-clockwise) -> PA east of north, 0-180 deg."""
    direction = np.stack([np.cos(orientation_rad), np.sin(orientation_rad)])
    east, north = wcs.pixel_scale_matrix @ direction
    return np.degrees(np.arctan2(east, north)) % 180.0
