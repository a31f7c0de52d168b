"""Catalogue entries of the CLEANed bright emission (`astro_i2i.deconvolve.subtract_bright`): one per island.

A resolved target is one entry, not a cluster of fragments: the island is the
CLEAN mask's connected region (one beam around the components). Its entry
gives:

- the integrated flux: the components plus the residual inside the island
  divided by the beam area (the residual correction an imager applies),
  primary-beam corrected pixel by pixel;
- the deconvolved size and PA: the second moments of the components (they
  are the deconvolved sky), as the FWHM of the Gaussian with those moments;
- ``morphology``: ``'extended'`` where the deconvolved major axis exceeds
  twice its error and a fifth of the beam, else ``'point'`` (PyBDSF's and
  Aegean's resolved/unresolved call).

The errors' scale factors (`BRIGHT_FLUX_ERR_SCALE` and the others) were
measured on simulated fields (``python benchmarks/fields.py``, docs/benchmarks.rst).
"""

import numpy as np
from astropy import units as u
from scipy import ndimage

from ._measure import _fftconvolve_same, gaussian_psf

__all__ = ["bright_entries", "bright_reliability", "BRIGHT_FLUX_ERR_SCALE", "BRIGHT_FLUX_ERR_FRACTION",
           "BRIGHT_SIZE_ERR_SCALE", "BRIGHT_RELIABILITY"]

_SIGMA_TO_FWHM = np.sqrt(8 * np.log(2))
#: flux_err = sqrt((SCALE * sigma * sqrt(island pixels / beam area))**2 + (FRACTION * flux)**2) / PB. Chosen on
#: 200 targets of 150 calibration fields (seed 5 500 000, ``fields`` population, every field with a target):
#: 96.0 % within 1.96 flux_err (1.5 and 0.03: 99.5 %; 1.0 and 0.02: 96.0 %; 1.0 and 0.05: 99.0 %).
BRIGHT_FLUX_ERR_SCALE = 1.0
BRIGHT_FLUX_ERR_FRACTION = 0.03
#: size error = SCALE * beam FWHM / (flux / noise of the island) + 5 % of the size; on the same targets 2.0
#: covers 93.0 % of true FWHMs within 1.96 errors (1.5: 87.0 %, 3.0: 97.0 %).
BRIGHT_SIZE_ERR_SCALE = 2.0
#: Reliability of a CLEANed entry where the primary beam is >= 0.5 and below: of 213 entries in 300 calibration
#: fields of the ``fields`` population (seed 5 500 000), the 206 at PB >= 0.5 all lay on a true target or faint
#: source and none of the 7 beyond (the far edge, where a target's sidelobes beyond half the image are missing
#: from an image-sized PSF); (0 + 1) / (7 + 2) = 0.11.
BRIGHT_RELIABILITY = {"inner": 1.0, "outer": 0.11}


def bright_reliability(entries, primary_beam=None):
    """The calibrated reliability of CLEANed entries (`BRIGHT_RELIABILITY`, by the primary beam at each)."""
    x, y = np.asarray(entries["x"], dtype=float), np.asarray(entries["y"], dtype=float)
    if primary_beam is None or not len(x):
        return np.full(len(x), BRIGHT_RELIABILITY["inner"])
    gain = np.asarray(primary_beam, dtype=float)
    ix = np.clip(np.rint(x).astype(int), 0, gain.shape[1] - 1)
    iy = np.clip(np.rint(y).astype(int), 0, gain.shape[0] - 1)
    inner = np.nan_to_num(gain[iy, ix]) >= 0.5
    return np.where(inner, BRIGHT_RELIABILITY["inner"], BRIGHT_RELIABILITY["outer"])


def bright_entries(bright, wcs, *, beam, primary_beam=None, sky=None):
    """One catalogue entry per island of CLEANed bright emission.

    Parameters
    ----------
    bright : `~astro_i2i.deconvolve.BrightModel`
    wcs : `~astropy.wcs.WCS`
        2-D celestial WCS of the image.
    beam : `~radio_beam.Beam`
    primary_beam : `~numpy.ndarray`, optional
        Primary-beam gain on the image's grid (fluxes are corrected by it).
    sky : `~numpy.ndarray`, optional
        The sky model (Jy/pixel), for each entry's ``peak``.

    Returns
    -------
    values : dict of `~numpy.ndarray`
        Columns ``x``, ``y``, ``ra``, ``dec``, ``flux``, ``flux_err``,
        ``model_peak`` (the sky model's, Jy/pixel), ``peak_flux`` (the restored
        image's island maximum, PB-corrected, Jy/beam), ``peak_flux_err``,
        ``local_rms`` (the residual's noise), ``fwhm_maj``, ``fwhm_min``, ``pa`` (deconvolved),
        ``size_err`` (1-sigma error of the axes, arcsec), ``pa_err`` (deg),
        ``mf_snr`` (the island's flux over its noise) and ``morphology``.
    """
    pixel = float(np.sqrt(abs(np.linalg.det(wcs.celestial.pixel_scale_matrix)))) * 3600  # arcsec
    beam_fwhm = float(np.sqrt(beam.major.to_value(u.arcsec) * beam.minor.to_value(u.arcsec)))
    beam_area = float((beam.sr / (pixel * u.arcsec) ** 2).decompose())  # pixels
    gain = np.ones(bright.model.shape) if primary_beam is None else np.asarray(primary_beam, dtype=float)
    gain = np.where(np.isfinite(gain) & (gain > 0), gain, np.nan)
    labels, n = ndimage.label(bright.mask)
    columns = {k: [] for k in ("x", "y", "flux", "flux_err", "model_peak", "peak_flux", "peak_flux_err",
                               "local_rms", "fwhm_maj", "fwhm_min", "pa", "size_err", "pa_err", "mf_snr",
                               "morphology")}  # fmt: skip
    residual = np.nan_to_num(bright.residual)
    # The restored image (components convolved with the Gaussian beam, Jy/beam, plus the residual): its island
    # maximum is the entry's peak_flux, as an imager's restored image would show it.
    size = 2 * int(np.ceil(3 * beam.major.to_value(u.arcsec) / pixel)) + 1
    restored = _fftconvolve_same(bright.model, gaussian_psf(beam, pixel * u.arcsec, size)) + residual
    for index, window in enumerate(ndimage.find_objects(labels), start=1):
        inside = labels[window] == index
        components = np.where(inside, bright.model[window], 0.0)
        total_components = components.sum()
        if not total_components > 0:
            continue
        per_pixel = components + np.where(inside, residual[window], 0.0) / beam_area
        g = gain[window]
        flux = float(np.nansum(np.where(inside, per_pixel / g, 0.0)))
        yy, xx = np.mgrid[window]
        x0 = float((components * xx).sum() / total_components)
        y0 = float((components * yy).sum() / total_components)
        g0 = float(np.nanmean(np.where(inside, g, np.nan)))
        noise = bright.sigma * np.sqrt(inside.sum() / beam_area)
        flux_err = float(np.hypot(BRIGHT_FLUX_ERR_SCALE * noise / g0, BRIGHT_FLUX_ERR_FRACTION * abs(flux)))
        # Deconvolved size: the components' second moments (east = -x).
        cxx = (components * (xx - x0) ** 2).sum() / total_components
        cyy = (components * (yy - y0) ** 2).sum() / total_components
        cxy = (components * (xx - x0) * (yy - y0)).sum() / total_components
        values, vectors = np.linalg.eigh(np.array([[cxx, -cxy], [-cxy, cyy]]))
        major = vectors[:, 1]
        fwhm_maj = float(np.sqrt(max(values[1], 0.0)) * _SIGMA_TO_FWHM * pixel)
        fwhm_min = float(np.sqrt(max(values[0], 0.0)) * _SIGMA_TO_FWHM * pixel)
        pa = float(np.degrees(np.arctan2(major[0], major[1])) % 180)
        snr = float(flux * g0 / noise) if noise > 0 else np.inf
        size_err = BRIGHT_SIZE_ERR_SCALE * beam_fwhm / max(snr, 1e-3) + 0.05 * fwhm_maj
        pa_err = float(min(90.0, np.degrees(size_err / max(fwhm_maj - fwhm_min, size_err))))
        extended = fwhm_maj > max(2 * size_err, 0.2 * beam_fwhm)
        columns["x"].append(x0)
        columns["y"].append(y0)
        columns["flux"].append(flux)
        columns["flux_err"].append(flux_err)
        columns["model_peak"].append(float(np.nanmax(np.where(inside, sky[window], np.nan))) if sky is not None
                                     else float(components.max()))  # fmt: skip
        brightest = np.unravel_index(np.argmax(np.where(inside, restored[window], -np.inf)), inside.shape)
        g_peak = g[brightest] if np.isfinite(g[brightest]) else g0
        columns["peak_flux"].append(float(restored[window][brightest] / g_peak))
        columns["peak_flux_err"].append(float(bright.sigma / g_peak))
        columns["local_rms"].append(float(bright.sigma))
        columns["fwhm_maj"].append(fwhm_maj)
        columns["fwhm_min"].append(fwhm_min)
        columns["pa"].append(pa)
        columns["size_err"].append(float(size_err))
        columns["pa_err"].append(pa_err)
        columns["mf_snr"].append(snr)
        columns["morphology"].append("extended" if extended else "point")
    out = {k: np.asarray(v, dtype="<U8" if k == "morphology" else float) for k, v in columns.items()}
    coords = wcs.celestial.pixel_to_world(out["x"], out["y"])
    out["ra"] = np.atleast_1d(coords.spherical.lon.deg)
    out["dec"] = np.atleast_1d(coords.spherical.lat.deg)
    return out
