"""Calibrating a trained model's inference settings on freshly simulated images (needs torch).

`calibrate_checkpoint` chooses, for the direct mode and for K style samples:

- the reliability model (`~astro_i2i.catalog.ReliabilityModel`), fitted to the
  candidates of the calibration images labelled real or spurious by matching
  the truth within `~astro_i2i.metrics.match_radius` (0.18" at the default
  set-up's beam, scaled with the beam), with a monotone recalibration of its output;
- the default operating point ``min_reliability`` (the best F1 there);
- the flux template correction (median true / fitted flux of the sources
  above 7.5 x 50 uJy) and the ``flux_err`` scale (95 % of true fluxes within
  1.96 flux_err);
- for K samples, the uncertainty map (`~astro_i2i.models.UncertaintyCalibration`):
  95 % coverage on source pixels and over the disc.
"""

import logging

import numpy as np
from astropy import units as u
from astropy.table import Table

from .._atomic import check_output_path
from ..catalog import (DEFAULT_SOURCE_FWHM, FEATURES_DIRECT, FEATURES_SAMPLES, DetectionSettings, ReliabilityModel, candidate_features,
                       beam_scale, matched_filter_snr, noise_sigma, reliability_diagram)  # fmt: skip
from ..exceptions import InputError
from ..metrics import DEFAULT_MATCH_RADIUS, match_radius, match_sources
from ..models import InferenceSettings, UncertaintyCalibration, load_checkpoint, save_checkpoint
from ..reconstruct import reconstruct_array
from ..simulate import SimulationConfig
from ._sigma import calibrate_sigma_style
from ..simulate import validation_set
from .evaluate import CALIBRATION_IMAGES, CALIBRATION_SEED, record_source_fwhm

__all__ = ["calibrate_checkpoint", "calibrate_detection", "calibrate_uncertainty", "labelled_candidates",
           "CANDIDATE_NSIGMA", "COVERAGE_TARGET"]

logger = logging.getLogger(__name__)

#: Candidates are sky-model peaks above this many dirty sigmas per beam area: low enough that the
#: reliability, not the threshold, decides (0.05 finds 28 % of the true sources against 23 % at 0.3).
CANDIDATE_NSIGMA = 0.05
COVERAGE_TARGET = 0.95
_SOURCE_FRACTION = 0.1  # source pixels: true sky above this fraction of the image's peak
_DISC_PIXELS = 3000  # disc pixels drawn per image for the coverage over the disc
_MIN_CLASS = 5  # real and spurious candidates needed to fit a reliability model
_BRIGHT_SNR = 7.5  # sources whose fitted flux sets the template correction (flux / 50 uJy; little Eddington bias)


def labelled_candidates(model, normalisation, images, truth, *, beam, samples, sigma_style, settings, device="cpu",
                        keep_skies=False, radius=DEFAULT_MATCH_RADIUS):  # fmt: skip
    """Reconstruct simulated images and label every catalogue candidate real (1) or spurious (0).

    A candidate is real when it matches a true source within ``radius``
    (`~astro_i2i.metrics.match_radius` of the model's beam).

    Returns
    -------
    table : `~astropy.table.Table`
        The candidates of all images (`~astro_i2i.catalog.candidate_features`)
        with ``image``, ``label``, the matched ``true_flux`` and ``true_snr``.
    skies : list
        With ``keep_skies``, the ``(K, ny, nx)`` samples of each image.
    """
    tables, skies_kept = [], []
    images_of_truth = np.asarray(truth["image"])
    tile = max(images[0]["dirty"].shape)
    for i, image in enumerate(images):
        skies, _ = reconstruct_array(model, normalisation, image["dirty"], samples=samples, sigma_style=sigma_style,
                                     seed=i, tile=tile, batch_size=1, device=device)  # fmt: skip
        candidates = candidate_features(skies.mean(axis=0), image["dirty"], image["wcs"], beam=beam, settings=settings,
                                        samples=skies if len(skies) > 1 else None,
                                        primary_beam=image.get("primary_beam"))  # fmt: skip
        coords = image["wcs"].pixel_to_world(candidates["x"].value, candidates["y"].value)
        detected = Table({"ra": np.atleast_1d(coords.ra.deg), "dec": np.atleast_1d(coords.dec.deg)})
        true = truth[images_of_truth == i]
        pairs = match_sources(detected, true, radius=radius)
        label = np.zeros(len(candidates))
        true_flux, true_snr = np.full(len(candidates), np.nan), np.full(len(candidates), np.nan)
        label[pairs[:, 0]] = 1
        true_flux[pairs[:, 0]] = np.asarray(true["flux"], dtype=float)[pairs[:, 1]]
        true_snr[pairs[:, 0]] = np.asarray(true["snr"], dtype=float)[pairs[:, 1]]
        table = Table(candidates, meta={})
        table["image"], table["label"], table["true_flux"], table["true_snr"] = i, label, true_flux, true_snr
        tables.append(table)
        if keep_skies:
            skies_kept.append(skies)
    from astropy.table import vstack

    return vstack(tables, metadata_conflicts="silent"), skies_kept


def _f1(selected, labels, n_true):
    tp = float(np.sum(labels[selected]))
    purity = tp / max(int(np.sum(selected)), 1)
    completeness = tp / n_true if n_true else float("nan")
    return (2 * purity * completeness / (purity + completeness) if purity + completeness > 0 else 0.0,
            purity, completeness)  # fmt: skip


def calibrate_detection(candidates, n_true, *, samples, candidate_nsigma=CANDIDATE_NSIGMA, source_fwhm_arcsec=None):
    """Fit a `~astro_i2i.catalog.DetectionSettings` to labelled candidates (`labelled_candidates`).

    Returns
    -------
    settings : `~astro_i2i.catalog.DetectionSettings`
    figures : dict
        F1, purity, completeness at the chosen operating point, the reliability
        diagram, flux figures on the calibration images.
    """
    names = FEATURES_SAMPLES if samples > 1 else FEATURES_DIRECT
    labels = np.asarray(candidates["label"], dtype=float)
    if min(labels.sum(), len(labels) - labels.sum()) < _MIN_CLASS:
        # Too few real (or spurious) candidates to fit anything: every candidate gets the base rate.
        rate = float(np.clip((labels.sum() + 0.5) / (len(labels) + 1), 1e-3, 1 - 1e-3))
        logger.warning("calibration: %d real and %d spurious candidates; reliability = the base rate %.3f",
                       int(labels.sum()), int(len(labels) - labels.sum()), rate)  # fmt: skip
        model = ReliabilityModel(features=(names[0],), mean=(0.0,), scale=(1.0,), weights=(0.0,),
                                 bias=float(np.log(rate / (1 - rate))))  # fmt: skip
    else:
        model = ReliabilityModel.fit(candidates, labels, names=names).recalibrate(candidates, labels)
    reliability = model.predict(candidates)
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2)
    scores = [_f1(reliability >= cut, labels, n_true) for cut in grid]
    best = int(np.argmax([s[0] for s in scores]))
    min_reliability = float(grid[best])
    chosen = (reliability >= min_reliability) & (labels == 1)
    fitted = np.asarray(candidates["flux_fit"], dtype=float)[chosen]
    true_flux = np.asarray(candidates["true_flux"], dtype=float)[chosen]
    bright = np.asarray(candidates["true_snr"], dtype=float)[chosen] >= _BRIGHT_SNR
    flux_scale = float(np.median(true_flux[bright] / fitted[bright])) if bright.sum() >= _MIN_CLASS else 1.0
    thermal = np.asarray(candidates["flux_err"], dtype=float)[chosen] * flux_scale
    z = np.abs(flux_scale * fitted - true_flux) / thermal
    scale = float(np.quantile(z, COVERAGE_TARGET) / 1.96) if len(z) >= _MIN_CLASS else 1.0
    settings = DetectionSettings(samples=samples, candidate_nsigma=candidate_nsigma, reliability=model,
                                 min_reliability=min_reliability, flux_scale=flux_scale,
                                 flux_err_scale=scale, source_fwhm_arcsec=source_fwhm_arcsec)  # fmt: skip
    f1, purity, completeness = scores[best]
    figures = {"samples": samples, "f1": f1, "purity": purity, "completeness": completeness,
               "min_reliability": min_reliability, "n_candidates": len(candidates), "n_true": int(n_true),
               "flux_scale": flux_scale, "flux_err_scale": scale, "diagram": reliability_diagram(reliability[reliability >= 0], labels)}  # fmt: skip
    return settings, figures


def _pixel_sets(images, skies, beam, rng):
    """(mean, spread, truth, u x matched-filter excess) on source pixels and on disc pixels drawn at random."""
    sources, disc = [], []
    for image, samples in zip(images, skies):
        mean, spread, truth = samples.mean(axis=0), samples.std(axis=0), image["sky"]
        dirty = image["dirty"]
        finite = np.isfinite(dirty)
        pixel_scale = image["wcs"].proj_plane_pixel_scales()[0].to(u.arcsec)
        per_pixel = noise_sigma(dirty) / float((beam.sr / pixel_scale**2).decompose())
        snr = matched_filter_snr(dirty, pixel_scale=pixel_scale, source_fwhm=DEFAULT_SOURCE_FWHM * beam_scale(beam))
        excess = per_pixel * np.clip(np.nan_to_num(snr), 0, None)
        columns = np.stack([mean, spread, truth, excess], axis=-1)
        if truth.max() > 0:
            sources.append(columns[finite & (truth > _SOURCE_FRACTION * truth.max())])
        chosen = rng.choice(np.flatnonzero(finite), min(_DISC_PIXELS, int(finite.sum())), replace=False)
        disc.append(columns.reshape(-1, 4)[chosen])
    return (np.concatenate(sources) if sources else np.zeros((0, 4))), np.concatenate(disc)


def _coverage(pixels, a, b):
    sigma = np.hypot(a * pixels[:, 1], b * pixels[:, 3])
    return float(np.mean(np.abs(pixels[:, 0] - pixels[:, 2]) <= 1.96 * sigma))


def calibrate_uncertainty(images, skies, *, beam, samples, seed=0):
    """The `~astro_i2i.models.UncertaintyCalibration` giving 95 % coverage on source pixels and over the disc.

    For each sample scale ``a`` of a grid, the matched-filter scale ``b`` that
    gives 95 % on source pixels is found by bisection; the ``a`` whose disc
    coverage is closest to 95 % wins.
    """
    from scipy import stats

    sources, disc = _pixel_sets(images, skies, beam, np.random.default_rng(seed))
    if not len(sources):
        sources = disc  # no true source in the calibration images: calibrate on the disc alone
    best = None
    for a in np.round(np.arange(0.1, 3.01, 0.1), 2):
        low, high = 0.0, 100.0
        for _ in range(40):
            b = (low + high) / 2
            low, high = (b, high) if _coverage(sources, a, b) < COVERAGE_TARGET else (low, b)
        b = high
        disc_coverage = _coverage(disc, a, b)
        if best is None or abs(disc_coverage - COVERAGE_TARGET) < abs(best[2] - COVERAGE_TARGET):
            best = (float(a), float(b), disc_coverage)
    a, b, disc_coverage = best
    sigma = np.hypot(a * sources[:, 1], b * sources[:, 3])
    rho = float(stats.spearmanr(sigma, np.abs(sources[:, 0] - sources[:, 2])).statistic) if len(sigma) > 2 else np.nan
    return UncertaintyCalibration(sample_scale=a, dirty_scale=b, samples=samples,
                                  coverage={"source": _coverage(sources, a, b), "disc": disc_coverage,
                                            "spearman_source": rho,
                                            "raw_source": _coverage(sources, 1.0, 0.0),
                                            "raw_disc": _coverage(disc, 1.0, 0.0)})  # fmt: skip


def calibrate_checkpoint(path, output, *, n_images=CALIBRATION_IMAGES, seed=CALIBRATION_SEED, samples=None,
                         sigma_style=None, observation=None, device="cpu", overwrite=False, log=None):  # fmt: skip
    """Choose a trained model's inference settings on freshly simulated images and store them in its checkpoint.

    ``n_images`` images are simulated as the model's training data were
    (``numpy.random.default_rng([seed, i])``; keep the seed apart from the
    training, validation and test seeds). The direct mode is always
    calibrated; a stochastic model is also calibrated for K = ``samples``
    (detection, and the uncertainty map).

    Parameters
    ----------
    path : str or path-like
        The checkpoint to calibrate.
    output : str or path-like
        Where to write the calibrated checkpoint (may be ``path`` itself, with
        ``overwrite=True``).
    n_images : int, optional
    seed : int, optional
    samples : int, optional
        K of the sampled mode (default: the model's ``default_samples``).
    sigma_style : float, optional
        The style perturbation of a model with a style; default: the
        checkpoint's if it has one, else
        the value whose raw sample spread covers 95 % of the pixels
        (`calibrate_sigma_style`, on a quarter of the images).
    observation : `~astro_i2i.simulate.ImagedObservation`, optional
        Simulate with this observation (default: the one stored in an adapted
        checkpoint, else the checkpoint's simulation config).
    device : str, optional
    overwrite : bool, optional
    log : callable, optional
        Called with a dict of the figures (the training log).

    Returns
    -------
    calibration : dict
        The figures, also stored under the checkpoint's ``metrics['calibration']``.
    """
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 4:
        raise ValueError(f"n_images must be an integer >= 4, not {n_images!r}")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, (int, np.integer))
                                or samples < 2):  # fmt: skip
        raise ValueError(f"samples must be an integer >= 2, not {samples!r}")
    output = check_output_path(output, overwrite=overwrite)
    model, card = load_checkpoint(path, device=device)
    samples = model.default_samples if samples is None else int(samples)
    if card.beam is None:
        raise InputError(path, "has no beam in its simulation record: cannot calibrate it")
    normalisation, beam = card.normalisation, card.beam
    simulation = card.simulation or SimulationConfig()
    if observation is None:
        observation = card.imaged_observation()
    images, truth = validation_set(simulation, int(n_images), int(seed), observation=observation,
                                   subtract_bright=True)  # fmt: skip
    radius = match_radius(beam)
    n_true = len(truth)
    calibration = {"n_images": int(n_images), "seed": int(seed), "n_true": n_true,
                   "match_radius_arcsec": float(radius.to_value(u.arcsec))}  # fmt: skip
    source_fwhm = record_source_fwhm(simulation)
    base = DetectionSettings(candidate_nsigma=CANDIDATE_NSIGMA, source_fwhm_arcsec=source_fwhm)
    candidates, _ = labelled_candidates(model, normalisation, images, truth, beam=beam, samples=1, sigma_style=0.0,
                                        settings=base, device=device, radius=radius)  # fmt: skip
    direct, figures = calibrate_detection(candidates, n_true, samples=1, source_fwhm_arcsec=source_fwhm)
    logger.info("calibration, direct: F1 %.4f at reliability >= %.2f (%d images)", figures["f1"],
                direct.min_reliability, n_images)  # fmt: skip
    calibration["direct"] = figures
    detection, uncertainty, sigma = [direct], None, 0.0
    if model.stochastic:
        previous = card.inference.sigma_style
        if not model.has_style:
            sigma = 0.0  # its samples' spread is its own (a diffusion model's starting noise)
        elif sigma_style is not None:
            sigma = float(sigma_style)
        elif previous > 0:
            sigma = previous
        else:
            sigma, table = calibrate_sigma_style(model, normalisation, images[: max(1, len(images) // 4)],
                                                 device=device)  # fmt: skip
            calibration["coverage_by_sigma_style"] = table
        candidates, skies = labelled_candidates(model, normalisation, images, truth, beam=beam, samples=samples,
                                                sigma_style=sigma, settings=base, device=device,
                                                keep_skies=True, radius=radius)  # fmt: skip
        sampled, figures = calibrate_detection(candidates, n_true, samples=samples, source_fwhm_arcsec=source_fwhm)
        logger.info("calibration, K = %d: F1 %.4f at reliability >= %.2f", samples, figures["f1"],
                    sampled.min_reliability)  # fmt: skip
        calibration["samples"] = figures
        detection.append(sampled)
        uncertainty = calibrate_uncertainty(images, skies, beam=beam, samples=samples, seed=int(seed))
        calibration["uncertainty"] = uncertainty.to_dict()
        calibration["sigma_style"] = sigma
    settings = InferenceSettings(samples=samples if model.stochastic else 1, sigma_style=sigma,
                                 detection=tuple(detection), uncertainty=uncertainty,
                                 calibration={"n_images": int(n_images), "seed": int(seed)})  # fmt: skip
    if log is not None:
        log({"calibration": calibration})
    metrics = {k: v for k, v in card.metrics.items() if k not in ("calibration", "coverage_by_sigma_style")}
    save_checkpoint(output, model, card=card, metrics={**metrics, "calibration": calibration}, inference=settings,
                    overwrite=True)  # fmt: skip
    return calibration
