"""Scoring models on simulated images: the validation F1 of training runs."""

import numpy as np
from astropy import units as u
from astropy.table import Table

from ..catalog import DetectionSettings, candidate_features
from ..metrics import DEFAULT_MATCH_RADIUS, score_catalogs, uncertainty_calibration
from ..reconstruct import reconstruct_sky

__all__ = ["beam_area_pixels", "record_beam", "record_source_fwhm", "evaluate_model",
           "DETECTION_NSIGMA_GRID", "CALIBRATION_IMAGES", "CALIBRATION_SEED"]

#: Sky-model thresholds tried on validation data during training (`~astro_i2i.catalog.sky_model_threshold`).
DETECTION_NSIGMA_GRID = (0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
#: Images on which a trained model's inference settings are calibrated: the reliability model is fitted on
#: their candidates (about 3000 candidates and 500 real sources from 600 images).
CALIBRATION_IMAGES = 600
CALIBRATION_SEED = 1_500_000  #: disjoint from training (1, 2), validation (1e6) and the benchmarks' test seeds


def _card(described):
    """A `~astro_i2i.models.ModelCard` of a card, a `~astro_i2i.simulate.SimulationConfig` or a simulation record."""
    from ..models import ModelCard

    return ModelCard.describe(described)


def _needs(value, what, described):
    if value is None:
        raise ValueError(f"{type(described).__name__} has no {what}")
    return value


def beam_area_pixels(card):
    """The synthesized beam's area in pixels of a model's training grid.

    Parameters
    ----------
    card : `~astro_i2i.models.ModelCard` or dict
        A checkpoint's card (`~astro_i2i.models.load_checkpoint`), or its
        ``simulation`` record.
    """
    return _needs(_card(card).beam_area_pixels, "beam and pixel scale", card)


def record_beam(card):
    """The synthesized beam (`~radio_beam.Beam`) a model was trained with.

    Parameters
    ----------
    card : `~astro_i2i.models.ModelCard` or dict
        A checkpoint's card (`~astro_i2i.models.load_checkpoint`), or its
        ``simulation`` record.

    Returns
    -------
    beam : `~radio_beam.Beam`

    Raises
    ------
    ValueError
        The card or record has no beam.
    """
    return _needs(_card(card).beam, "beam", card)


def record_source_fwhm(card):
    """The typical source (FWHM, arcsec) of a model's training population: the middle of its size range.

    Parameters
    ----------
    card : `~astro_i2i.models.ModelCard`, `~astro_i2i.simulate.SimulationConfig` or dict
        A checkpoint's card, a simulation config, or a simulation record
        (``SimulationConfig.to_dict()``).

    Returns
    -------
    fwhm : float
        Arcsec.
    """
    return float(_needs(_card(card).source_fwhm, "simulation config", card).to_value(u.arcsec))


def evaluate_model(model, normalisation, images, truth, *, beam, radius=DEFAULT_MATCH_RADIUS, source_fwhm=None,
                   samples=1, sigma_style=0.0, detection_nsigma=None, device="cpu"):  # fmt: skip
    """Catalogue F1 (and flux accuracy) of a model on simulated images; dict of figures.

    The candidates are those of the product catalogue
    (`~astro_i2i.catalog.candidate_features`: peaks of the reconstructed sky,
    the mean of ``samples`` reconstructions, moved to the dirty image's
    matched-filter peak, fluxes fitted on the dirty image); a candidate is kept
    when its sky-model peak is above `~astro_i2i.catalog.sky_model_threshold`.
    With ``detection_nsigma=None`` every value of `DETECTION_NSIGMA_GRID` is
    tried and the one with the best F1 at ``radius`` is reported (as
    ``detection_nsigma``). The network's part -- which peaks it ranks high --
    is what this measures; the calibrated reliability is fitted afterwards.

    Parameters
    ----------
    model, normalisation
        The network (`~astro_i2i.models.SkyModel`) and its
        `~astro_i2i.models.Normalisation`.
    images, truth
        From `~astro_i2i.simulate.validation_set`.
    beam : `~radio_beam.Beam`
        The synthesized beam (`record_beam`).
    radius : `~astropy.units.Quantity`, optional
        Matching radius (`~astro_i2i.metrics.match_radius` of the beam).
    source_fwhm : `~astropy.units.Quantity`, optional
        The catalogue's source size (`record_source_fwhm`); default as in
        `~astro_i2i.catalog.candidate_features`.
    samples : int, optional
        K reconstructions averaged per image. Default 1.
    sigma_style : float, optional
        The style perturbation (stochastic models). Default 0.0.
    detection_nsigma : float, optional
        The candidate threshold (units of `~astro_i2i.catalog.sky_model_threshold`'s
        ``nsigma``); default None, the best of `DETECTION_NSIGMA_GRID`.
    device : str, optional
        torch device. Default ``'cpu'``.

    Returns
    -------
    figures : dict
        ``purity``, ``completeness``, ``f1``, ``flux_within_20_percent``,
        ``n_images``, ``detection_nsigma`` and ``radius_arcsec``; with
        ``samples > 1`` also ``coverage`` (mean pixel coverage of the samples'
        spread at 1.96 sigma, `~astro_i2i.metrics.uncertainty_calibration`).
    """
    grid = DETECTION_NSIGMA_GRID if detection_nsigma is None else (detection_nsigma,)
    settings = DetectionSettings(candidate_nsigma=min(grid))
    candidates, coverage = [], []
    for i, image in enumerate(images):
        mean, std = reconstruct_sky(model, normalisation, image["dirty"], samples=samples, sigma_style=sigma_style,
                                    seed=i, device=device)  # fmt: skip
        table = candidate_features(mean, image["dirty"], image["wcs"], beam=beam, settings=settings,
                                   primary_beam=image.get("primary_beam"), source_fwhm=source_fwhm)  # fmt: skip
        coords = image["wcs"].pixel_to_world(table["x"].value, table["y"].value)
        unit = table.meta["candidate_threshold"] / settings.candidate_nsigma  # Jy/pixel per nsigma
        candidates.append(Table({"ra": np.atleast_1d(coords.ra.deg), "dec": np.atleast_1d(coords.dec.deg),
                                 "flux": table["flux"].to_value(u.Jy),
                                 "nsigma": np.asarray(table["model_peak"].value, dtype=float) / unit}))  # fmt: skip
        if samples > 1:
            coverage.append(uncertainty_calibration(mean, std, image["sky"])["coverage"])
    results = []
    for nsigma in grid:
        detections = {i: table[table["nsigma"] >= nsigma] for i, table in enumerate(candidates)}
        score = score_catalogs(detections, truth, radius=radius, images=range(len(images)))
        results.append({"purity": score.purity, "completeness": score.completeness, "f1": score.f1,
                        "flux_within_20_percent": score.flux_within_20_percent, "n_images": len(images),
                        "detection_nsigma": float(nsigma),
                        "radius_arcsec": float(u.Quantity(radius, u.arcsec).value)})  # fmt: skip
    result = max(results, key=lambda r: np.nan_to_num(r["f1"]))
    if coverage:
        result["coverage"] = float(np.mean(coverage))
    return result
