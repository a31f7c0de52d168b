"""Scoring models on simulated images: the validation F1 of training runs."""

import numpy as np

from ..catalog import find_sources, sky_model_threshold
from ..metrics import score_catalogs, uncertainty_calibration
from ..reconstruct import reconstruct_sky
from ..simulate import simulate_image, truth_rows

__all__ = ["validation_set", "beam_area_pixels", "evaluate_model", "DETECTION_NSIGMA_GRID", "CALIBRATION_IMAGES",
           "CALIBRATION_SEED"]

#: Sky-model thresholds tried on validation data during training (`~astro_i2i.catalog.sky_model_threshold`).
DETECTION_NSIGMA_GRID = (0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
#: Images on which a trained model's inference settings are calibrated: the reliability model is fitted on
#: their candidates (about 3000 candidates and 500 real sources from 600 images).
CALIBRATION_IMAGES = 600
CALIBRATION_SEED = 1_500_000  #: disjoint from training (1, 2), validation (1e6) and the benchmarks' test seeds


def validation_set(simulation, n_images, seed, *, psf=False, observation=None):
    """Fixed validation images: list of ``simulate_image`` results and the truth table.

    Each image is a dict of ``dirty``, ``sky``, ``wcs``, ``primary_beam`` and,
    with ``psf=True``, ``psf``. With ``observation`` (an
    `~astro_i2i.simulate.ImagedObservation`) the images are observed with it.
    """
    from astropy.table import Table

    images, columns = [], {}
    for i in range(n_images):
        result = simulate_image(simulation, np.random.default_rng([seed, i]), observation=observation)
        for key, values in truth_rows(i, result["sources"], result["wcs"], simulation).items():
            columns.setdefault(key, []).append(values)
        images.append({"dirty": result["dirty"], "sky": result["sky"], "wcs": result["wcs"],
                       "primary_beam": result["primary_beam"], **({"psf": result["psf"]} if psf else {})})
    return images, Table({key: np.concatenate(values) for key, values in columns.items()})


def beam_area_pixels(simulation_record):
    """The synthesized beam's area in pixels, from a checkpoint's ``simulation`` record."""
    bmaj, bmin = simulation_record["beam"][:2]
    return float(np.pi / (4 * np.log(2)) * bmaj * bmin / simulation_record["image"]["pixel_scale_arcsec"] ** 2)


def evaluate_model(model, normalisation, images, truth, *, beam_area_pixels, samples=1, sigma_style=0.0,
                   detection_nsigma=None, device="cpu"):  # fmt: skip
    """Catalogue F1 (and flux accuracy) of a model on simulated images; dict of figures.

    Sources are found in the reconstructed sky (the mean of ``samples``
    reconstructions) above `~astro_i2i.catalog.sky_model_threshold`. With
    ``detection_nsigma=None`` every value of `DETECTION_NSIGMA_GRID` is tried
    and the one with the best F1 is reported (as ``detection_nsigma``).
    """
    reconstructions, coverage = [], []
    for i, image in enumerate(images):
        mean, std = reconstruct_sky(model, normalisation, image["dirty"], samples=samples, sigma_style=sigma_style,
                                    seed=i, device=device)  # fmt: skip
        reconstructions.append(mean)
        if samples > 1:
            coverage.append(uncertainty_calibration(mean, std, image["sky"])["coverage"])
    grid = DETECTION_NSIGMA_GRID if detection_nsigma is None else (detection_nsigma,)
    results = []
    for nsigma in grid:
        detections = {
            i: find_sources(mean, image["wcs"],
                            threshold=sky_model_threshold(image["dirty"], beam_area_pixels, nsigma=nsigma))
            for i, (mean, image) in enumerate(zip(reconstructions, images))
        }  # fmt: skip
        score = score_catalogs(detections, truth, images=range(len(images)))
        results.append({"purity": score.purity, "completeness": score.completeness, "f1": score.f1,
                        "flux_within_20_percent": score.flux_within_20_percent, "n_images": len(images),
                        "detection_nsigma": float(nsigma)})  # fmt: skip
    result = max(results, key=lambda r: np.nan_to_num(r["f1"]))
    if coverage:
        result["coverage"] = float(np.mean(coverage))
    return result
