"""The synthesized beam: from FITS keywords, HISTORY cards, or a fit to a PSF."""

import re

import numpy as np
from astropy import units as u
from radio_beam import Beam
from scipy import ndimage, optimize

__all__ = ["beam_from_header", "beam_from_history", "fit_psf_beam", "parse_beam_string", "psf_similarity"]

_NUMBER = r"([-+]?\d*\.?\d+(?:[eEdD][-+]?\d+)?)"
# AIPS and CASA: "BMAJ=  1.7599E-03 BMIN=  1.5740E-03 BPA=   2.61" (degrees)
_AIPS_BEAM = re.compile(rf"BMAJ\s*=\s*{_NUMBER}\s+BMIN\s*=\s*{_NUMBER}\s+BPA\s*=\s*{_NUMBER}", re.IGNORECASE)
# CASA imager: "Fitted beam used in restoration: 1.34841 by 0.830715 (arcsec) at pa 82.8827 (deg)"
_CASA_BEAM = re.compile(
    rf"restoration:\s*{_NUMBER}\s+by\s+{_NUMBER}\s*\(arcsec\)\s*at\s+pa\s+{_NUMBER}", re.IGNORECASE
)


def _float(text):
    return float(text.replace("D", "E").replace("d", "e"))


def _valid_beam(major, minor, pa):
    """A `~radio_beam.Beam` if the numbers describe a real beam, else None."""
    if not (np.isfinite(major) and np.isfinite(minor) and np.isfinite(pa)):
        return None
    if major <= 0 or minor <= 0:
        return None
    if minor > major:
        major, minor, pa = minor, major, pa + 90.0
    return Beam(major=major * u.deg, minor=minor * u.deg, pa=pa * u.deg)


def beam_from_header(header):
    """Beam from the ``BMAJ``/``BMIN``/``BPA`` keywords (degrees), or None."""
    if "BMAJ" not in header or "BMIN" not in header:
        return None
    try:
        major, minor = float(header["BMAJ"]), float(header["BMIN"])
        pa = float(header.get("BPA", 0.0))
    except (TypeError, ValueError):
        return None
    return _valid_beam(major, minor, pa)


def beam_from_history(header):
    """Beam from the last beam-bearing ``HISTORY`` card (AIPS or CASA style), or None."""
    if "HISTORY" not in header:
        return None
    history = [str(card) for card in header["HISTORY"]]
    found = []
    for line in history:
        match = _AIPS_BEAM.search(line)
        if match:
            found.append(_valid_beam(*(_float(g) for g in match.groups())))
    # The CASA imager splits its sentence across cards; search the joined text.
    for match in _CASA_BEAM.finditer(" ".join(line.strip() for line in history)):
        arcsec_major, arcsec_minor, pa = (_float(g) for g in match.groups())
        found.append(_valid_beam(arcsec_major / 3600, arcsec_minor / 3600, pa))
    found = [beam for beam in found if beam is not None]
    return found[-1] if found else None


def _angle(part, default_unit, text):
    try:
        return float(part) * default_unit
    except ValueError:
        pass
    try:
        value = u.Quantity(part.replace('"', "arcsec").replace("'", "arcmin"))
        return value.to(u.deg)
    except (TypeError, ValueError, u.UnitsError):
        raise ValueError(f"beam {text!r}: {part!r} is not an angle") from None


def parse_beam_string(text):
    """Parse ``"BMAJ,BMIN,BPA"`` into a `~radio_beam.Beam`.

    Three values are needed: plain numbers are arcsec, arcsec and degrees;
    each may carry its unit instead (``"0.9arcsec,0.8arcsec,30deg"``,
    ``'0.9",0.8",30deg'``).

    Raises
    ------
    ValueError
        If the text is not three angles or the axes are not positive.
    """
    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    if len(parts) != 3:
        raise ValueError(f"beam {text!r} is not 'BMAJ,BMIN,BPA' (three values: arcsec, arcsec, deg, or with units); "
                         f"{len(parts)} given")  # fmt: skip
    major, minor = (_angle(p, u.arcsec, text).to_value(u.deg) for p in parts[:2])
    pa = _angle(parts[2], u.deg, text).to_value(u.deg)
    beam = _valid_beam(major, minor, pa)
    if beam is None:
        raise ValueError(f"beam {text!r} must have positive, finite axes")
    return beam


def fit_psf_beam(psf, wcs, *, cutoff=0.35):
    """Fit an elliptical Gaussian to the main lobe of a PSF, as tclean does.

    The pixels of the main lobe (the connected region around the peak) above
    ``cutoff`` times the peak are fitted with a Gaussian whose peak equals the
    PSF's (tclean's ``psfcutoff`` default is 0.35).

    Parameters
    ----------
    psf : `~numpy.ndarray`
        2-D PSF image.
    wcs : `~astropy.wcs.WCS`
        2-D celestial WCS of the PSF (for the pixel scale and orientation).
    cutoff : float, optional
        Fraction of the peak above which main-lobe pixels are fitted.

    Returns
    -------
    beam : `~radio_beam.Beam`

    Raises
    ------
    ValueError
        If the PSF has no positive peak or its main lobe is too small to fit.
    """
    psf = np.asarray(psf, dtype=float)
    finite = np.isfinite(psf)
    if not finite.any():
        raise ValueError("PSF has no finite pixels")
    work = np.where(finite, psf, -np.inf)
    iy, ix = np.unravel_index(np.argmax(work), psf.shape)
    peak = psf[iy, ix]
    if not peak > 0:
        raise ValueError("PSF has no positive peak")
    labels, _ = ndimage.label(work > cutoff * peak)
    lobe = labels == labels[iy, ix]
    if lobe.sum() < 6:
        raise ValueError(f"PSF main lobe has only {lobe.sum()} pixels above {cutoff} of the peak; cannot fit")
    yy, xx = np.nonzero(lobe)
    values = psf[yy, xx] / peak
    dx, dy = xx - ix, yy - iy

    # Starting point from second moments of the lobe.
    weights = values / values.sum()
    cxx = max(np.sum(weights * dx * dx), 0.5)
    cyy = max(np.sum(weights * dy * dy), 0.5)
    cxy = np.sum(weights * dx * dy)

    def residual(params):
        x0, y0, a, b, c = params
        rx, ry = dx - x0, dy - y0
        return np.exp(-0.5 * (a * rx * rx + 2 * b * rx * ry + c * ry * ry)) - values

    inverse = np.linalg.inv([[cxx, cxy], [cxy, cyy]])
    start = [0.0, 0.0, inverse[0, 0], inverse[0, 1], inverse[1, 1]]
    result = optimize.least_squares(residual, start, method="lm")
    _, _, a, b, c = result.x
    precision = np.array([[a, b], [b, c]])
    if not np.all(np.linalg.eigvalsh(precision) > 0):
        raise ValueError("PSF main-lobe fit did not converge to an ellipse")
    covariance_pix = np.linalg.inv(precision)

    # Pixel offsets -> (east, north) offsets in degrees, via the local linear WCS.
    matrix = wcs.pixel_scale_matrix
    covariance_sky = matrix @ covariance_pix @ matrix.T
    eigvals, eigvecs = np.linalg.eigh(covariance_sky)
    sigma_minor, sigma_major = np.sqrt(eigvals)
    east, north = eigvecs[:, 1]
    pa = np.degrees(np.arctan2(east, north)) % 180.0
    fwhm = np.sqrt(8 * np.log(2))
    return Beam(major=fwhm * sigma_major * u.deg, minor=fwhm * sigma_minor * u.deg, pa=pa * u.deg)


def psf_similarity(psf, pixel_scale, reference, reference_scale, *, radius):
    """Correlation coefficient of two PSFs within ``radius`` of their peaks, on ``psf``'s grid.

    A simple figure of how alike two observations' PSFs are (1 = identical
    shape, sidelobes included). ``reference`` is interpolated (bilinearly) onto
    ``psf``'s pixel offsets, so the two may have different pixel scales.

    Parameters
    ----------
    psf, reference : `~numpy.ndarray`
        2-D PSFs, peak at ``(n // 2, n // 2)``.
    pixel_scale, reference_scale, radius : `~astropy.units.Quantity`
        Angles.

    Returns
    -------
    similarity : float
    """
    from scipy.ndimage import map_coordinates

    scale = pixel_scale.to_value(u.arcsec)
    ratio = scale / reference_scale.to_value(u.arcsec)
    reach = int(np.ceil(radius.to_value(u.arcsec) / scale))
    offsets = np.arange(-reach, reach + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    inside = np.hypot(dx, dy) <= reach
    ny, nx = psf.shape
    rows, cols = ny // 2 + dy[inside], nx // 2 + dx[inside]
    valid = (rows >= 0) & (rows < ny) & (cols >= 0) & (cols < nx)
    a = np.nan_to_num(np.asarray(psf, dtype=float))[rows[valid], cols[valid]]
    ry, rx = reference.shape
    b = map_coordinates(np.nan_to_num(np.asarray(reference, dtype=float)),
                        [ry // 2 + dy[inside][valid] * ratio, rx // 2 + dx[inside][valid] * ratio], order=1,
                        mode="constant", cval=0.0)  # fmt: skip
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
