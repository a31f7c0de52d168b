"""Helpers shared by the benchmark scripts (not part of the package), and the seeds of their image sets."""

import numpy as np
from astropy import units as u
from astropy.coordinates import angular_separation
from astropy.table import Table

from astro_i2i.metrics import match_sources

__all__ = ["TEST_SEED", "chance_of_error", "FRESH_SEED", "OTHER_SEED", "FIELDS_SEED", "header_of", "matched_pairs", "per_image_counts",
           "read_casa_reference", "separation_arcsec"]

# The seeds of the benchmarks' simulated image sets (image i of a set is drawn with ``[SEED, i]``), each set kept
# for one purpose, apart from training (seeds 1 and 2, drawn on the fly), validation (1 000 000) and calibration
# (`astro_i2i.training.CALIBRATION_SEED`, 1 500 000: the scripts choose the baselines' thresholds and fit their
# reliabilities on those images too, as the models' operating points are calibrated there).
#: The test images: every results table (evaluate_models, results_table, the studies), never used to choose anything.
TEST_SEED = 2_000_000
#: A second test set, to check a figure on images it was not chosen on (docs/models.rst's reruns, bench_tiling).
FRESH_SEED = 3_000_000
#: Images of other set-ups or populations: adapt_check's "user" observation, outer_sources' wide fields (and
#: cli_evaluate.sh's default, a shell script).
OTHER_SEED = 4_000_000
#: Fields with a bright target (fields.py).
FIELDS_SEED = 5_000_000


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


def separation_arcsec(ra1, dec1, ra2, dec2):
    """Angular separations (arcsec) of pairs of positions in degrees, element by element (Vincenty's formula)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (ra1, dec1, ra2, dec2))
    return np.degrees(angular_separation(lon1, lat1, lon2, lat2)) * 3600


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
        out["separation"].extend(separation_arcsec(u.Quantity(d["ra"], u.deg).value, u.Quantity(d["dec"], u.deg).value,
                                                   t["ra"], t["dec"]))  # fmt: skip
    return {key: np.asarray(values, dtype=float) for key, values in out.items()}


def chance_of_error(diagram, error, trials=20000):
    """P(largest bin error >= ``error``) for a perfectly calibrated model with these bins' counts and predictions
    (`~astro_i2i.catalog.reliability_diagram`'s rows): how much of a reliability error the test set's binomial
    noise alone gives."""
    n = np.array([d["n"] for d in diagram])
    p = np.array([d["predicted"] for d in diagram])
    fractions = np.random.default_rng(0).binomial(n, p, size=(trials, len(n))) / n
    return float(np.mean(np.abs(fractions - p).max(axis=1) >= error - 1e-9))
