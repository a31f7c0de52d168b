"""Helpers shared by the benchmark scripts (not part of the package)."""

import warnings

import numpy as np
from astropy import units as u
from astropy.table import Table

from astro_i2i.catalog import (
    fit_fluxes,
    gaussian_psf,
    matched_filter_snr,
    noise_sigma,
    refine_positions,
)
from astro_i2i.metrics import _separation_arcsec, match_sources

__all__ = ["header_of", "local_peaks", "matched_filter_candidates", "matched_pairs", "per_image_counts",
           "read_casa_reference"]


def header_of(image, beam):
    """A FITS header for a simulated image (``validation_set`` entry): its WCS, Jy/beam, the beam, and RESTFRQ
    when the entry carries ``frequency_hz``."""
    header = image["wcs"].to_header()
    header["BUNIT"] = "Jy/beam"
    if "frequency_hz" in image:
        header["RESTFRQ"] = image["frequency_hz"]
    header.update(beam.to_header_keywords())
    return header


def per_image_counts(catalogs, truth, n, *, radius=0.18):
    """Per image ``0..n-1``: (one-to-one matches within ``radius`` arcsec, detections, true sources).

    Summed over any set of images, F1 = 2 matches / (detections + true sources).
    """
    out = np.zeros((n, 3))
    image_of = np.asarray(truth["image"])
    for i in range(n):
        detected, true = catalogs.get(i, Table()), truth[image_of == i]
        matched = len(match_sources(detected, true, radius=radius * u.arcsec)) if len(detected) and len(true) else 0
        out[i] = matched, len(detected), len(true)
    return out


def read_casa_reference(folder):
    """A CASA-made reference set (``shared/reference/casa``): truth table (image, ra, dec, flux, snr), image names
    and the primary beam (the same for every pointing)."""
    from astropy.io import fits

    table = Table.read(folder / "truth.ecsv")
    truth = Table({"image": [int(name) for name in table["image"]], "ra": table["ra_deg"], "dec": table["dec_deg"],
                   "flux": table["flux_jy"], "snr": table["snr"]})  # fmt: skip
    names = sorted(set(Table.read(folder / "images.ecsv")["image"]))
    pb = np.squeeze(fits.getdata(folder / "pb_000.fits")).astype(float)
    return truth, names, pb


def local_peaks(score_map, threshold, *, box_size=7):
    """Pixels ``(x, y)`` of the local maxima (``box_size`` square) of a map above ``threshold``; NaN is never a peak."""
    from photutils.detection import find_peaks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty field has no peaks
        peaks = find_peaks(np.nan_to_num(score_map, nan=-np.inf), threshold, box_size=box_size)
    if peaks is None:
        return np.zeros(0, int), np.zeros(0, int)
    return np.asarray(peaks["x_peak"]), np.asarray(peaks["y_peak"])


def matched_filter_candidates(image, beam, threshold):
    """Matched-filter peaks (refined), their S/N at three scales, the PB and the fitted fluxes.

    The dirty image is smoothed by a 0.6" Gaussian source convolved with the
    beam (`~astro_i2i.catalog.matched_filter_snr`); peaks above ``threshold``
    sigma are refined to sub-pixel positions and their fluxes fitted jointly
    (`~astro_i2i.catalog.fit_fluxes`), as the models' catalogues do.
    Returns None when there is no peak.
    """
    dirty, wcs = image["dirty"], image["wcs"]
    pixel = wcs.proj_plane_pixel_scales()[0].to(u.arcsec)
    snr = matched_filter_snr(dirty, pixel_scale=pixel)
    ix, iy = local_peaks(snr, threshold)
    if not len(ix):
        return None
    x, y, value = refine_positions(ix, iy, snr, radius=0.0)
    flux, err = fit_fluxes(dirty, x, y, psf=gaussian_psf(beam, pixel, 49), pixel_scale=pixel,
                           primary_beam=image["primary_beam"], noise=noise_sigma(dirty))  # fmt: skip
    coords = wcs.pixel_to_world(x, y)
    table = Table({"ra": np.atleast_1d(coords.ra.deg), "dec": np.atleast_1d(coords.dec.deg), "flux": flux,
                   "flux_err": err, "mf_snr": value, "primary_beam": image["primary_beam"][iy, ix]})  # fmt: skip
    for scale in (0.4, 0.8):
        table[f"mf_{scale}"] = matched_filter_snr(dirty, pixel_scale=pixel, source_fwhm=scale * u.arcsec)[iy, ix]
    return table


def matched_pairs(catalogs, truth, *, radius):
    """Every detection-truth match within ``radius``, over all images.

    Returns
    -------
    dict of arrays
        ``flux``, ``flux_err`` (NaN where a catalogue has none), ``true_flux``,
        ``snr`` (the truth's) and ``separation`` (arcsec).
    """
    out = {key: [] for key in ("flux", "flux_err", "true_flux", "snr", "separation")}
    truth_image = np.asarray(truth["image"])
    for i, catalog in catalogs.items():
        true = truth[truth_image == i]
        if not len(catalog) or not len(true):
            continue
        pairs = match_sources(catalog, true, radius=radius)
        if not len(pairs):
            continue
        d, t = catalog[pairs[:, 0]], true[pairs[:, 1]]
        out["flux"].extend(u.Quantity(d["flux"], u.Jy).value)
        out["flux_err"].extend(u.Quantity(d["flux_err"], u.Jy).value if "flux_err" in d.colnames
                               else np.full(len(d), np.nan))  # fmt: skip
        out["true_flux"].extend(np.asarray(t["flux"], dtype=float))
        out["snr"].extend(np.asarray(t["snr"], dtype=float))
        out["separation"].extend(np.diag(_separation_arcsec(
            u.Quantity(d["ra"], u.deg).value, u.Quantity(d["dec"], u.deg).value, np.asarray(t["ra"]),
            np.asarray(t["dec"]))))  # fmt: skip
    return {key: np.asarray(values, dtype=float) for key, values in out.items()}
