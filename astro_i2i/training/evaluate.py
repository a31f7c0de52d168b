"""Scoring models on simulated images: the validation F1 of training runs."""

import numpy as np
from astropy import units as u
from astropy.table import Table

from ..catalog import DetectionSettings, candidate_features
from ..metrics import DEFAULT_MATCH_RADIUS, score_catalogs, uncertainty_calibration
from ..reconstruct import reconstruct_sky
from ..simulate import simulate_image, truth_rows

__all__ = ["validation_set", "beam_area_pixels", "record_beam", "record_source_fwhm", "evaluate_model",
           "DETECTION_NSIGMA_GRID", "CALIBRATION_IMAGES", "CALIBRATION_SEED"]

#: Sky-model thresholds tried on validation data during training (`~astro_i2i.catalog.sky_model_threshold`).
DETECTION_NSIGMA_GRID = (0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
#: Images on which a trained model's inference settings are calibrated: the reliability model is fitted on
#: their candidates (about 3000 candidates and 500 real sources from 600 images).
CALIBRATION_IMAGES = 600
CALIBRATION_SEED = 1_500_000  #: disjoint from training (1, 2), validation (1e6) and the benchmarks' test seeds


def validation_set(simulation, n_images, seed, *, psf=False, observation=None, subtract_bright=False):
    """Fixed validation images: list of ``simulate_image`` results and the truth table.

    Each image is a dict of ``dirty``, ``sky``, ``wcs``, ``primary_beam`` and,
    with ``psf=True``, ``psf``. With ``observation`` (an
    `~astro_i2i.simulate.ImagedObservation`) the images are observed with it.
    With ``subtract_bright=True`` each image is the pair the network sees at
    inference (`~astro_i2i.deconvolve.residual_pair`: its bright emission
    CLEANed with its PSF; ``dirty`` the residual, ``sky`` the faint sources), and the
    truth holds the faint sources only where something was CLEANed (the
    targets are CLEAN's, not the network's).
    """
    from ..deconvolve import residual_pair
    from ..io import fit_psf_beam

    images, columns, beam_pixels = [], {}, None
    for i in range(n_images):
        result = simulate_image(simulation, np.random.default_rng([seed, i]), observation=observation)
        dirty, sky, bright = result["dirty"], result["sky"], None
        if subtract_bright:
            if beam_pixels is None:
                beam = fit_psf_beam(result["psf"], result["wcs"])
                beam_pixels = float(np.sqrt((beam.major * beam.minor).to_value(u.arcsec**2))) / \
                    simulation.image.pixel_scale_arcsec  # fmt: skip
            dirty, sky, bright = residual_pair(dirty, sky, result["psf"], faint_sky=result["faint_sky"],
                                               beam_fwhm_pixels=beam_pixels)  # fmt: skip
        targets = result["targets"] if bright is None else None
        for key, values in truth_rows(i, result["sources"], result["wcs"], simulation, targets).items():
            columns.setdefault(key, []).append(values)
        images.append({"dirty": dirty, "sky": sky, "wcs": result["wcs"],
                       "primary_beam": result["primary_beam"], **({"psf": result["psf"]} if psf else {})})
    return images, Table({key: np.concatenate(values) for key, values in columns.items()})


def beam_area_pixels(simulation_record):
    """The synthesized beam's area in pixels, from a checkpoint's ``simulation`` record."""
    bmaj, bmin = simulation_record["beam"][:2]
    return float(np.pi / (4 * np.log(2)) * bmaj * bmin / simulation_record["image"]["pixel_scale_arcsec"] ** 2)


def record_beam(simulation_record):
    """The synthesized beam (`~radio_beam.Beam`) of a checkpoint's ``simulation`` record."""
    from radio_beam import Beam

    bmaj, bmin, bpa = simulation_record["beam"]
    return Beam(bmaj * u.arcsec, bmin * u.arcsec, bpa * u.deg)


def record_source_fwhm(simulation_record):
    """The typical source (FWHM, arcsec) of a checkpoint's training population: the middle of its size range."""
    sources = simulation_record["sources"]
    return 0.5 * (float(sources["fwhm_min_arcsec"]) + float(sources["fwhm_max_arcsec"]))


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
    images, truth
        From `validation_set`.
    beam : `~radio_beam.Beam`
        The synthesized beam (`record_beam`).
    radius : `~astropy.units.Quantity`, optional
        Matching radius (`~astro_i2i.metrics.match_radius` of the beam).
    source_fwhm : `~astropy.units.Quantity`, optional
        The catalogue's source size (`record_source_fwhm`); default as in
        `~astro_i2i.catalog.candidate_features`.
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
                                 "nsigma": np.asarray(table["peak"].value, dtype=float) / unit}))  # fmt: skip
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
