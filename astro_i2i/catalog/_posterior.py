"""The catalogue of a reconstruction: the network proposes, the dirty image measures (no torch).

1. Candidates are the local maxima of the reconstructed sky (the mean of the
   K style samples) above ``candidate_nsigma`` dirty-noise sigmas per beam area.
2. Each is moved to the sub-pixel peak of the dirty image's matched filter
   within `REFINE_RADIUS` (the network works on a 4x coarser grid).
3. Fluxes and their thermal errors come from a joint least-squares fit of
   PSF-convolved Gaussians to the dirty image (`fit_fluxes`), scaled by a
   calibrated template correction, with errors scaled to a calibrated coverage.
4. A `ReliabilityModel` turns the candidate's evidence (matched-filter S/N,
   fit S/N, the sky model's peak and flux, the primary beam, and with K > 1
   the fraction of samples that hold the source and its significance over the
   samples) into the probability that it is real; candidates below
   ``min_reliability`` are dropped.
"""


import numpy as np
from astropy import units as u
from astropy.table import QTable
from scipy import ndimage

from .._validate import positive_int

from ._measure import (DEFAULT_SOURCE_FWHM, beam_scale, fit_fluxes, gaussian_psf, matched_filter_snr, refine_positions,
                       size_interval, size_profiles)  # fmt: skip
from ._bright import bright_entries, bright_reliability
from ._segment import CATALOG_COLUMNS, noise_sigma

__all__ = ["candidate_features", "posterior_catalog", "local_peaks", "REFINE_RADIUS", "FEATURES_DIRECT",
           "FEATURES_SAMPLES"]

#: Positions move to the matched filter's peak within this radius (0.2" beat 0.3" and 0.4": docs/models.rst).
REFINE_RADIUS = 0.2 * u.arcsec
#: The reliability features of a direct (one-sample) reconstruction.
FEATURES_DIRECT = ("log_mf_snr", "log_fit_snr", "log_peak", "model_flux", "primary_beam", "offset")
#: ... and of K > 1 samples.
FEATURES_SAMPLES = FEATURES_DIRECT + ("detection_fraction", "sample_significance")
#: A reliability calibrated over ALMA set-ups (issue 29) also takes the log of the prior odds of a source per beam
#: area over the model's own set-up (`prior_scaled`'s ``odds``): a feature with a fitted weight, not a fixed factor.
PRIOR_FEATURE = "log_prior_odds"
#: At most this many candidates per image (the brightest sky peaks): a field of noise peaks stays quick.
MAX_CANDIDATES = 300
_PEAK_BOX = 0.5 * u.arcsec  # local maxima in 5 x 5 pixels at 0.1": finer than the 0.85" beam
_MODEL_FLUX_HALF = 0.45 * u.arcsec  # half-width of the box the model flux is summed in


def _peak_box(pixel_scale, scale):
    return max(3, 2 * int(round(float((scale * _PEAK_BOX / pixel_scale).decompose()) / 2)) + 1)


def local_peaks(image, threshold, *, box_size=5, max_peaks=None):
    """The local maxima of a map above a threshold, highest first: the candidates of every catalogue here.

    A pixel is a peak where it is the largest of the ``box_size`` x
    ``box_size`` pixels centred on it and above ``threshold``
    (as `photutils.detection.find_peaks` finds them). `posterior_catalog` takes the peaks of
    a sky model in 5 x 5 pixels at the default set-up's 0.1" (finer than its
    0.85" beam), `~astro_i2i.baselines.matched_filter_catalog` those of the
    matched filter's S/N map in a box about the source's FWHM across.

    Parameters
    ----------
    image : `~numpy.ndarray`
        2-D map; NaN pixels are never peaks.
    threshold : float or `~numpy.ndarray`
        A peak must lie above it (strictly); a map of ``image``'s shape is a
        threshold per pixel.
    box_size : int, optional
        Side of the box, pixels.
    max_peaks : int, optional
        Keep only this many peaks, the highest (default: all).

    Returns
    -------
    x, y : `~numpy.ndarray` of int
        0-based column and row of each peak, highest first; empty if there
        is none.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, not of shape {image.shape}")
    box_size = positive_int(box_size, "box_size")
    if max_peaks is not None and (isinstance(max_peaks, bool) or not isinstance(max_peaks, (int, np.integer))
                                  or max_peaks < 0):  # fmt: skip
        raise ValueError(f"max_peaks must be a non-negative integer or None, not {max_peaks!r}")
    if not np.isscalar(threshold) and np.shape(threshold) != image.shape:
        raise ValueError(f"threshold must be a number or a map of the image's shape {image.shape}, not of shape "
                         f"{np.shape(threshold)}")  # fmt: skip
    # photutils.detection.find_peaks' arithmetic (a box maximum filter, 0 beyond the edges), without photutils:
    # its tables import matplotlib for their metadata, 0.3 s of a one-image reconstruct on a 2-core CPU.
    data = np.nan_to_num(image, nan=-np.inf)
    if np.all(data == data.flat[0]):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    peak = (data == ndimage.maximum_filter(data, size=box_size, mode="constant", cval=0.0)) & (data > threshold)
    y, x = peak.nonzero()
    order = np.argsort(-data[y, x])[:max_peaks]
    return x.astype(int)[order], y.astype(int)[order]


def _peaks(image, threshold, box=5):
    return local_peaks(image, threshold, box_size=box, max_peaks=MAX_CANDIDATES)


def candidate_features(sky, dirty, wcs, *, beam, settings, samples=None, primary_beam=None, psf=None,
                       source_fwhm=None):  # fmt: skip
    """Every candidate source of a reconstruction with its measurements and reliability features.

    Parameters
    ----------
    sky : `~numpy.ndarray`
        The reconstructed sky (Jy/pixel), the mean of the samples.
    dirty : `~numpy.ndarray`
        The dirty image (Jy/beam) on the same grid.
    wcs : `~astropy.wcs.WCS`
    beam : `~radio_beam.Beam`
        The synthesized beam (for the noise per beam area and, without
        ``psf``, a Gaussian PSF).
    settings : `~astro_i2i.catalog.DetectionSettings`
    samples : `~numpy.ndarray`, optional
        ``(K, ny, nx)`` sky samples (K > 1).
    primary_beam : `~numpy.ndarray`, optional
        Primary-beam response on the grid; fluxes are apparent without it.
    psf : `~numpy.ndarray`, optional
        The dirty beam on the same pixel grid (peak 1 at ``shape // 2``).
    source_fwhm : `~astropy.units.Quantity`, optional
        Size of the matched filter and of the flux fit's source; default the
        settings' ``source_fwhm_arcsec`` (the model's typical training source),
        else `~astro_i2i.catalog.DEFAULT_SOURCE_FWHM` scaled with the beam
        (`~astro_i2i.catalog.beam_scale`), as are the refinement and moment radii.
        Given where it differs from the settings' (another beam than the
        model's), the ``offset`` feature is counted in the settings' units.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row per candidate: ``x``, ``y`` (refined), ``x_model``, ``y_model``,
        ``flux_fit``, ``flux``, ``flux_err`` (Jy; fit, calibrated), ``model_peak``,
        and the features named in `FEATURES_SAMPLES`.
    """
    sky, dirty = np.asarray(sky, dtype=float), np.asarray(dirty, dtype=float)
    if sky.shape != dirty.shape:
        raise ValueError(f"sky {sky.shape} and dirty {dirty.shape} differ in shape")
    pixel_scale = wcs.proj_plane_pixel_scales()[0].to(u.arcsec)
    beam_pixels = float((beam.sr / pixel_scale**2).decompose())
    noise = noise_sigma(dirty)
    unit = noise / beam_pixels  # Jy/pixel: the threshold unit of sky_model_threshold
    scale = beam_scale(beam)
    # Angles the reliability model learnt (the refinement offset) are counted in units of the model's own
    # source size: a source_fwhm given for another beam (the shipped model on another set-up) rescales them.
    length_scale = 1.0
    if source_fwhm is None:
        source_fwhm = (DEFAULT_SOURCE_FWHM * scale if settings.source_fwhm_arcsec is None else
                       settings.source_fwhm_arcsec * u.arcsec)  # fmt: skip
    elif settings.source_fwhm_arcsec is not None:
        length_scale = float(u.Quantity(source_fwhm, u.arcsec).value) / settings.source_fwhm_arcsec
    box = _peak_box(pixel_scale, scale)
    xs, ys = _peaks(sky, settings.candidate_nsigma * unit, box)
    snr_map = matched_filter_snr(dirty, pixel_scale=pixel_scale, source_fwhm=source_fwhm)
    radius = float((scale * REFINE_RADIUS / pixel_scale).decompose())
    rx, ry, mf = refine_positions(xs, ys, snr_map, radius=radius)
    peak = sky[ys, xs] if len(xs) else np.zeros(0)
    # Two sky peaks that climb to the same matched-filter peak are one source: keep the brighter.
    order = np.argsort(-peak)
    keep = np.ones(len(xs), dtype=bool)
    for a, i in enumerate(order):
        if keep[i]:
            close = np.hypot(rx[order[a + 1 :]] - rx[i], ry[order[a + 1 :]] - ry[i]) < radius
            keep[order[a + 1 :][close]] = False
    xs, ys, rx, ry, mf, peak = (v[keep] for v in (xs, ys, rx, ry, mf, peak))

    if psf is None:
        psf = gaussian_psf(beam, pixel_scale, 49)
    flux, thermal = fit_fluxes(dirty, rx, ry, psf=psf, pixel_scale=pixel_scale, primary_beam=primary_beam,
                               source_fwhm=source_fwhm, noise=noise)  # fmt: skip
    fit_snr = flux / np.where(thermal > 0, thermal, np.nan)
    half = int(np.ceil(float((scale * _MODEL_FLUX_HALF / pixel_scale).decompose())))
    model_flux = np.array([np.nansum(sky[max(0, y - half) : y + half + 1, max(0, x - half) : x + half + 1])
                           for x, y in zip(xs, ys)])  # fmt: skip
    pb = np.ones(len(xs)) if primary_beam is None else np.asarray(primary_beam, dtype=float)[ys, xs]
    features = {
        "mf_snr": mf,
        "fit_snr": np.nan_to_num(fit_snr),
        # Logarithms: the logistic model is better calibrated on them (largest bin error 12 instead of 17 points)
        "log_mf_snr": np.log(np.clip(np.nan_to_num(mf), 0.5, None)),
        "log_fit_snr": np.log(np.clip(np.nan_to_num(fit_snr), 0.5, None)),
        "log_peak": np.log(np.clip(peak / unit, 1e-3, None)),
        "model_flux": model_flux / noise,
        "primary_beam": pb,
        "offset": np.hypot(rx - xs, ry - ys) * pixel_scale.value / length_scale,
        "detection_fraction": np.full(len(xs), np.nan),
        "sample_significance": np.full(len(xs), np.nan),
    }
    if samples is not None and len(samples) > 1:
        found = np.zeros(len(xs))
        for sample in samples:
            sx, sy = _peaks(sample, settings.candidate_nsigma * unit, box)
            if len(sx):
                distance = np.hypot(sx[None, :] - xs[:, None], sy[None, :] - ys[:, None]).min(axis=1)
                found += distance <= radius
        values = np.asarray(samples)[:, ys, xs] if len(xs) else np.zeros((len(samples), 0))
        features["detection_fraction"] = found / len(samples)
        features["sample_significance"] = np.log(np.clip(values.mean(axis=0) / (values.std(axis=0) + 1e-30), 1e-3, None))
    table = QTable()
    table["x"], table["y"] = rx * u.pix, ry * u.pix
    table["x_model"], table["y_model"] = xs * u.pix, ys * u.pix
    table["flux_fit"] = flux * u.Jy
    table["flux"] = settings.flux_scale * flux * u.Jy
    table["flux_err"] = settings.flux_err_scale * settings.flux_scale * thermal * u.Jy
    table["model_peak"] = peak * u.Jy / u.pix
    for name, values in features.items():
        table[name] = values
    table.meta.update({"noise": noise, "candidate_threshold": settings.candidate_nsigma * unit})
    return table


def posterior_catalog(sky, dirty, wcs, *, beam, settings, samples=None, primary_beam=None, psf=None,
                      min_reliability=None, source_fwhm=None, bright=None, prior_odds=1.0):  # fmt: skip
    """The source catalogue of a reconstruction (`CATALOG_COLUMNS`), most reliable and brightest first.

    Parameters
    ----------
    sky, dirty, wcs, beam, settings, samples, primary_beam, psf, source_fwhm
        As in `candidate_features`: the sky model (Jy/pixel), the dirty image
        (Jy/beam), their WCS, the beam, the `DetectionSettings`, and the
        optional sky samples, primary beam, PSF and source FWHM.
    min_reliability : float, optional
        Keep candidates at least this reliable (default: the settings'
        operating point, which maximised F1 on the calibration images).
    bright : `~astro_i2i.deconvolve.BrightModel`, optional
        The CLEANed bright emission (``dirty`` is then its residual): each of
        its islands is one entry (`bright_entries`, ``morphology`` point or
        extended, deconvolved size with errors), and the network's
        candidates inside them are dropped (they are the target's own
        fragments).
    prior_odds : float, optional
        Factor on the network sources' reliability odds (`prior_scaled`): the
        chance of a source per beam area over the calibration population's.
        Default 1.

    Returns
    -------
    catalog : `~astropy.table.QTable`
    """
    if not (np.isfinite(prior_odds) and prior_odds > 0):
        raise ValueError(f"prior_odds must be positive, not {prior_odds!r}")
    if min_reliability is None:
        min_reliability = settings.min_reliability
    if not 0 <= min_reliability <= 1:
        raise ValueError(f"min_reliability must lie in [0, 1], not {min_reliability!r}")
    candidates = candidate_features(sky, dirty, wcs, beam=beam, settings=settings, samples=samples,
                                    primary_beam=primary_beam, psf=psf, source_fwhm=source_fwhm)  # fmt: skip
    if settings.reliability is None:
        reliability = np.full(len(candidates), np.nan)
        keep = np.ones(len(candidates), dtype=bool)
    else:
        reliability = settings.recalibrated(_reliability(settings.reliability, candidates, prior_odds))
        keep = reliability >= min_reliability
    candidates["reliability"] = reliability
    if bright is not None and len(candidates):
        ix = np.clip(np.rint(candidates["x"].value).astype(int), 0, bright.mask.shape[1] - 1)
        iy = np.clip(np.rint(candidates["y"].value).astype(int), 0, bright.mask.shape[0] - 1)
        keep &= ~bright.mask[iy, ix]
    chosen = candidates[keep]
    order = np.lexsort((-chosen["flux"].value, -np.nan_to_num(np.asarray(chosen["reliability"]))))
    chosen = chosen[order]
    coords = wcs.pixel_to_world(chosen["x"].value, chosen["y"].value)
    flux_err = chosen["flux_err"].to_value(u.Jy)
    pixel_scale = wcs.proj_plane_pixel_scales()[0].to_value(u.arcsec)
    gain = np.asarray(chosen["primary_beam"], dtype=float)
    values = {
        "id": np.arange(1, len(chosen) + 1),
        "ra": np.atleast_1d(coords.spherical.lon.deg),
        "dec": np.atleast_1d(coords.spherical.lat.deg),
        "x": chosen["x"].value,
        "y": chosen["y"].value,
        "flux": chosen["flux"].to_value(u.Jy),
        "flux_err": flux_err,
        "peak_flux": _dirty_at(dirty, chosen["x"].value, chosen["y"].value) / gain,
        "local_rms": local_rms(dirty, chosen["x"].value, chosen["y"].value,
                               half_width=int(np.ceil(_RMS_BOX_BEAMS * _beam_fwhm_arcsec(beam) / pixel_scale))),
        "model_peak": chosen["model_peak"].value,
        "snr": chosen["flux"].to_value(u.Jy) / np.where(flux_err > 0, flux_err, np.nan),
        **_faint_sizes(dirty, chosen, psf=psf, beam=beam, pixel_scale=pixel_scale, settings=settings,
                       noise=candidates.meta["noise"]),
        "detection_fraction": np.asarray(chosen["detection_fraction"], dtype=float),
        "reliability": np.asarray(chosen["reliability"], dtype=float),
        "mf_snr": np.asarray(chosen["mf_snr"], dtype=float),
        "pa_err": np.full(len(chosen), np.nan),
    }
    values["peak_flux_err"] = values["local_rms"] / gain
    from_bright = np.zeros(len(values["x"]), dtype=bool)
    if bright is not None:
        entries = bright_entries(bright, wcs, beam=beam, primary_beam=primary_beam, sky=sky)
        n = len(entries["x"])
        entries["snr"] = entries["flux"] / np.where(entries["flux_err"] > 0, entries["flux_err"], np.nan)
        entries["reliability"] = bright_reliability(entries, primary_beam)
        entries["detection_fraction"] = np.ones(n) if samples is not None else np.full(n, np.nan)
        entries["fwhm_limit"] = np.full(n, np.nan)  # their sizes are measured, with errors
        order = np.lexsort((-entries["flux"], -entries["reliability"]))
        order = order[entries["reliability"][order] >= min_reliability]
        values = {key: np.concatenate([np.asarray(entries[key])[order], values[key]]) for key in values if key != "id"}
        values["id"] = np.arange(1, len(values["x"]) + 1)
        from_bright = np.arange(len(values["x"])) < len(order)
    values["bright"] = from_bright
    values["name"] = source_names(values["ra"], values["dec"])
    values["ra_err"], values["dec_err"] = position_errors(values["mf_snr"], beam, settings)
    # A resolved bright target's centroid has no point source's error; a faint source resolved by its size fit
    # keeps its calibrated error (the calibration's real sources include resolved ones).
    extended = from_bright & (values["morphology"] == "extended")
    values["ra_err"][extended] = values["dec_err"][extended] = np.nan
    catalog = QTable(meta={"noise": candidates.meta["noise"], "unit": "Jy/pixel",
                           "frame": wcs.wcs.radesys.lower() or "icrs", "minrel": float(min_reliability),
                           "thresh": f"reliability >= {min_reliability:g} among sky-model peaks above "
                                     f"{settings.candidate_nsigma:g} x dirty noise per beam area"})  # fmt: skip
    for name, (unit, description) in POSTERIOR_COLUMNS.items():
        catalog[name] = values[name] * unit if unit is not None else values[name]
        catalog[name].description = description
    catalog["reliability"].description = settings.reliability_meaning(beam)
    if settings.position_err_scale is None:
        for name in ("ra_err", "dec_err"):
            catalog[name].description += " (not calibrated for this model: NaN)"
    return catalog


#: local_rms: the robust noise of the dirty image in a box of +- this many beam FWHM around the source (PyBDSF's
#: rms box is 4-8 beams across by default; the dirty noise of an ALMA field is flat before PB correction).
_RMS_BOX_BEAMS = 4.0


def _faint_sizes(dirty, chosen, *, psf, beam, pixel_scale, settings, noise):
    """Deconvolved (circular) sizes of the network's sources from the dirty image (`size_profiles`).

    A source is ``'extended'`` where its size interval excludes a point
    (deconvolved FWHM the interval's middle, ``size_err`` its half-width over
    1.96 times the calibrated ``size_err_scale``),
    else ``'point'`` with the upper limit in ``fwhm_limit``. Without a
    calibrated threshold every size is NaN and ``morphology`` is ``''``.
    """
    n = len(chosen)
    out = {"fwhm_maj": np.full(n, np.nan), "fwhm_min": np.full(n, np.nan), "pa": np.full(n, np.nan),
           "size_err": np.full(n, np.nan), "fwhm_limit": np.full(n, np.nan),
           "morphology": np.full(n, "", dtype="<U8")}  # fmt: skip
    if settings.size_chi2_threshold is None or not n:
        return out
    fwhm = _beam_fwhm_arcsec(beam)
    kernel = gaussian_psf(beam, pixel_scale * u.arcsec, 49) if psf is None else psf
    profiles = size_profiles(dirty, chosen["x"].value, chosen["y"].value, psf=kernel, pixel_scale=pixel_scale * u.arcsec,
                             beam_fwhm=fwhm * u.arcsec, noise=noise)  # fmt: skip
    best, low, high = size_interval(profiles, settings.size_chi2_threshold)
    resolved = low > 0
    # The interval's middle: fwhm_maj +- 1.96 size_err is the calibrated interval (its width scaled for 95 %).
    out["fwhm_maj"] = out["fwhm_min"] = np.where(resolved, (low + high) / 2 * fwhm, np.nan)
    out["size_err"] = np.where(resolved, settings.size_err_scale * (high - low) * fwhm / (2 * 1.96), np.nan)
    out["fwhm_limit"] = np.where(resolved | ~np.isfinite(high), np.nan, high * fwhm)
    out["morphology"] = np.where(np.isfinite(best), np.where(resolved, "extended", "point"), "").astype("<U8")
    return out


def _beam_fwhm_arcsec(beam):
    return float(np.sqrt(beam.major.to_value(u.arcsec) * beam.minor.to_value(u.arcsec)))


def _dirty_at(dirty, x, y):
    """The dirty image (Jy/beam) at sub-pixel positions, bilinear."""
    if not len(x):
        return np.zeros(0)
    return ndimage.map_coordinates(np.nan_to_num(np.asarray(dirty, dtype=float)), [np.asarray(y), np.asarray(x)],
                                   order=1, mode="nearest")  # fmt: skip


def local_rms(image, x, y, *, half_width):
    """The robust noise (MAD-based standard deviation) of ``image`` in a box around each position.

    Parameters
    ----------
    image : `~numpy.ndarray`
        2-D map (the dirty image, Jy/beam); non-finite pixels are ignored.
    x, y : array-like
        0-based pixel positions.
    half_width : int
        The box spans ``+- half_width`` pixels.

    Returns
    -------
    rms : `~numpy.ndarray`
        One value per position, in the image's unit (NaN where the box holds
        fewer than 10 finite pixels).
    """
    image = np.asarray(image, dtype=float)
    half_width = positive_int(half_width, "half_width")
    ny, nx = image.shape
    out = np.full(len(np.atleast_1d(x)), np.nan)
    for k, (xk, yk) in enumerate(zip(np.atleast_1d(x), np.atleast_1d(y))):
        ix, iy = int(round(float(xk))), int(round(float(yk)))
        box = image[max(0, iy - half_width) : min(ny, iy + half_width + 1),
                    max(0, ix - half_width) : min(nx, ix + half_width + 1)]  # fmt: skip
        finite = box[np.isfinite(box)]
        if finite.size >= 10:
            out[k] = 1.4826 * np.median(np.abs(finite - np.median(finite)))
    return out


def _reliability(model, candidates, prior_odds):
    """The candidates' reliability under ``prior_odds``: a feature of a model calibrated over set-ups (its
    ``PRIOR_FEATURE``), else Bayes' rule on the odds (`prior_scaled`)."""
    if PRIOR_FEATURE in model.features:
        candidates[PRIOR_FEATURE] = np.full(len(candidates), np.log(prior_odds))
        return model.predict(candidates)
    return prior_scaled(model.predict(candidates), prior_odds)


def prior_scaled(reliability, odds):
    """Reliabilities with their odds multiplied by ``odds``: the same evidence under another prior.

    ``R' = odds R / (odds R + 1 - R)``: a posterior P(real | features)
    calibrated where a source per beam area had prior odds o, for a field where
    they are ``odds`` x o (Bayes' rule; the likelihood ratio is unchanged).

    Parameters
    ----------
    reliability : array-like
    odds : float

    Returns
    -------
    reliability : `~numpy.ndarray`
    """
    reliability = np.asarray(reliability, dtype=float)
    if odds == 1.0:
        return reliability
    return odds * reliability / (odds * reliability + 1 - reliability)


def beam_fwhm_along_axes(beam):
    """The beam's FWHM (arcsec) along RA and along Dec (its position angle east of north).

    Parameters
    ----------
    beam : `~radio_beam.Beam`

    Returns
    -------
    along_ra, along_dec : float
    """
    major, minor = beam.major.to_value(u.arcsec), beam.minor.to_value(u.arcsec)
    pa = beam.pa.to_value(u.rad)
    return (float(np.sqrt((major * np.sin(pa)) ** 2 + (minor * np.cos(pa)) ** 2)),
            float(np.sqrt((major * np.cos(pa)) ** 2 + (minor * np.sin(pa)) ** 2)))  # fmt: skip


def position_errors(mf_snr, beam, settings):
    """1-sigma ``ra_err``, ``dec_err`` (arcsec) from the matched-filter S/N (`DetectionSettings.position_err_scale`).

    ``hypot(scale * FWHM_axis / mf_snr, floor)`` with FWHM_axis the beam's
    extent along RA (Dec) and the S/N clipped at 1; NaN where the settings
    carry no calibration.

    Parameters
    ----------
    mf_snr : array-like
    beam : `~radio_beam.Beam`
    settings : `~astro_i2i.catalog.DetectionSettings`

    Returns
    -------
    ra_err, dec_err : `~numpy.ndarray`
    """
    snr = np.clip(np.nan_to_num(np.asarray(mf_snr, dtype=float), nan=1.0), 1.0, None)
    if settings.position_err_scale is None:
        return np.full(len(snr), np.nan), np.full(len(snr), np.nan)
    along_ra, along_dec = beam_fwhm_along_axes(beam)
    scale, floor = settings.position_err_scale, settings.position_err_floor_arcsec
    return np.hypot(scale * along_ra / snr, floor), np.hypot(scale * along_dec / snr, floor)


def source_names(ra, dec, *, prefix="ALMA"):
    """IAU-style names, ``PREFIX JHHMMSS.ss+DDMMSS.s``, the coordinates truncated (not rounded), as the IAU asks.

    Parameters
    ----------
    ra, dec : array-like
        Degrees.
    prefix : str, optional
        The acronym. Default ``'ALMA'``.

    Returns
    -------
    names : `~numpy.ndarray` of str
    """
    ra, dec = np.atleast_1d(np.asarray(ra, dtype=float)) % 360, np.atleast_1d(np.asarray(dec, dtype=float))
    names = []
    for a, d in zip(ra, dec):
        centi = int(np.floor(a / 15 * 3600 * 100 + 1e-6))  # hundredths of a second of time
        hours, rest = divmod(centi, 3600 * 100)
        minutes, rest = divmod(rest, 60 * 100)
        deci = int(np.floor(abs(d) * 3600 * 10 + 1e-6))  # tenths of an arcsecond
        degrees, drest = divmod(deci, 3600 * 10)
        arcmin, drest = divmod(drest, 60 * 10)
        sign = "-" if d < 0 else "+"
        names.append(f"{prefix} J{hours:02d}{minutes:02d}{rest // 100:02d}.{rest % 100:02d}"
                     f"{sign}{degrees:02d}{arcmin:02d}{drest // 10:02d}.{drest % 10:d}")  # fmt: skip
    return np.asarray(names, dtype=str) if names else np.zeros(0, dtype="<U30")


POSTERIOR_COLUMNS = {
    "id": CATALOG_COLUMNS["id"],
    "name": (None, "IAU-style name, ALMA JHHMMSS.ss+DDMMSS.s (coordinates truncated)"),
    "ra": CATALOG_COLUMNS["ra"],
    "ra_err": (u.arcsec, "calibrated 1-sigma error of ra, along the sky (95 % of real sources within 1.96 ra_err)"),
    "dec": CATALOG_COLUMNS["dec"],
    "dec_err": (u.arcsec, "calibrated 1-sigma error of dec (95 % of real sources within 1.96 dec_err)"),
    "x": (u.pix, "0-based pixel x, refined to the dirty image's matched-filter peak"),
    "y": (u.pix, "0-based pixel y, refined to the dirty image's matched-filter peak"),
    "flux": (u.Jy, "flux density: PSF-convolved Gaussian fitted to the dirty image, primary-beam corrected, "
                   "template-calibrated (not deboosted)"),
    "flux_err": (u.Jy, "calibrated 1-sigma flux uncertainty (thermal noise of the fit, scaled for 95 % coverage)"),
    "peak_flux": (u.Jy / u.beam, "peak brightness: the dirty image at the position (faint sources) or the restored "
                                 "CLEAN image's island maximum (bright entries), primary-beam corrected"),
    "peak_flux_err": (u.Jy / u.beam, "1-sigma error of peak_flux: local_rms over the primary beam"),
    "local_rms": (u.Jy / u.beam, "robust noise of the dirty image (bright entries: its CLEAN residual) around the "
                                 "source, not primary-beam corrected"),
    "model_peak": (u.Jy / u.pix, "the sky model's value at its peak (Jy/pixel; not comparable with peak_flux)"),
    "snr": (None, "flux / flux_err"),
    "fwhm_maj": (u.arcsec, "deconvolved FWHM along the major axis: bright entries from their CLEAN components, "
                           "faint 'extended' sources a circular Gaussian fitted to the dirty image; NaN for 'point'"),
    "fwhm_min": (u.arcsec, "deconvolved FWHM along the minor axis (faint sources: circular, = fwhm_maj)"),
    "pa": (u.deg, "position angle of the major axis, east of north, 0-180 (bright entries; NaN for faint ones)"),
    "fwhm_limit": (u.arcsec, "faint 'point' sources: upper limit on the deconvolved FWHM (the calibrated interval's "
                             "top; 95 % of true sizes within the interval)"),
    "detection_fraction": (None, "fraction of the style samples in which the source is found (NaN in direct mode)"),
    "reliability": (None, "calibrated probability that a true source lies within half a beam FWHM of the entry"),
    "mf_snr": (None, "S/N of the dirty image's matched filter at the position (bright entries: flux over the "
                     "island's noise)"),
    "morphology": (None, "'point' (unresolved) or 'extended': bright (CLEANed) entries by their deconvolved size "
                         "(above twice its error and a fifth of the beam), faint ones by their size interval "
                         "(excludes a point); '' when not measured"),
    "bright": (None, "True: an island of bright emission CLEANed before the network (PyBDSF-like measurement); "
                     "False: a source of the network's sky model"),
    "size_err": (u.arcsec, "1-sigma error of the deconvolved axes fwhm_maj, fwhm_min (NaN for 'point' faint "
                           "sources: see fwhm_limit)"),
    "pa_err": (u.deg, "bright entries: 1-sigma error of pa"),
}  # fmt: skip
