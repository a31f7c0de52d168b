"""What the dirty images allow: classical detection and flux limits at the dataset's noise.

Usage: python benchmarks/studies/detection_ceiling.py [N] [SEED] [--casa DIR]
       (default 500 images, seed 2000000: the test images of evaluate_models.py; --casa scores the same detector on
       the CASA-made reference images in DIR, e.g. ../shared/reference/casa)

1. Matched filter (`astro_i2i.baselines.matched_filter_catalog`): the dirty
   image (natural weighting: already the point-source matched filter) smoothed
   by a 0.6" Gaussian (a typical source), local peaks above t x its robust
   noise, positions refined by a quadratic fit (``centroid='quadratic'``);
   scored against the truth within 0.18" (and 0.5", to show how much is lost
   to position errors alone) for a grid of t.
2. Flux with everything but the flux known: the least-squares amplitude of each
   source's exact noiseless response (primary beam, PSF) fitted to the dirty
   image at its true position and shape. No method that estimates the flux
   from the same data can be expected to do much better; the fraction within
   20 % of the truth bounds the issue's flux target.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from astro_i2i.baselines import matched_filter_catalog
from astro_i2i.catalog import noise_sigma
from astro_i2i.metrics import score_catalogs
from astro_i2i.simulate import SimulationConfig, render_sky, simulate_image, truth_rows

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import TEST_SEED, read_casa_reference

THRESHOLDS = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5)
SMOOTH_FWHM = 0.6 * u.arcsec
SOURCE_FIELDS = ("x", "y", "flux", "fwhm_maj", "fwhm_min", "pa")  # a simulated source, as render_sky reads it

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=TEST_SEED)
parser.add_argument("--casa", help="directory of CASA-made reference images (dirty_XXX.fits, truth.ecsv)")
args = parser.parse_args()


def peak_catalog(dirty, wcs):
    """The matched filter's peaks above the lowest threshold (positions only); each threshold is a cut on mf_snr."""
    return matched_filter_catalog(dirty, wcs, pixel_scale=pixel_scale * u.arcsec, nsigma=min(THRESHOLDS),
                                  source_fwhm=SMOOTH_FWHM, centroid="quadratic")  # fmt: skip


def completeness_lines(score):
    """The completeness per S/N bin of a `~astro_i2i.metrics.CatalogScore`, one string per bin."""
    return [f"{f'[{low:g}, {high:g})' if high != np.inf else f'>= {low:g}':>10}: {100 * completeness:6.1f} % of {n}"
            for low, high, n, completeness in score.completeness_by_snr()]  # fmt: skip


def score_thresholds(tables, truth, label):
    print(f"\n== matched filter on the dirty image: {label}")
    best = None
    for threshold in THRESHOLDS:
        detections = {i: table[np.asarray(table["mf_snr"]) > threshold] for i, table in tables.items()}
        near = score_catalogs(detections, truth)
        far = score_catalogs(detections, truth, radius=0.5 * u.arcsec)
        print(f"t = {threshold:.1f}: P {100 * near.purity:5.1f}  C {100 * near.completeness:5.1f}  "
              f"F1 {100 * near.f1:5.1f}   (within 0.5\": P {100 * far.purity:5.1f}  C {100 * far.completeness:5.1f}  "
              f"F1 {100 * far.f1:5.1f})")  # fmt: skip
        if best is None or near.f1 > best[1].f1:
            best = (threshold, near)
    print(f"best F1 at t = {best[0]:.1f}; " + ", ".join(line.strip() for line in completeness_lines(best[1])))


def known_source_fluxes(result, pixel_scale_arcsec):
    """Least-squares flux of each source given its true position and shape."""
    sources, observation, dirty = result["sources"], result["observation"], result["dirty"]
    finite = np.isfinite(dirty)
    data = np.where(finite, dirty, 0.0)
    templates = []
    for k in range(len(sources["flux"])):
        one = {name: np.atleast_1d(sources[name])[k : k + 1] for name in SOURCE_FIELDS}
        one["flux"] = np.ones(1)
        sky = render_sky(one, dirty.shape[0], pixel_scale_arcsec)
        templates.append(np.where(finite, observation.convolve(sky), 0.0).ravel())
    if not templates:
        return np.zeros(0)
    design = np.stack(templates, axis=1)
    amplitudes, *_ = np.linalg.lstsq(design, data.ravel(), rcond=None)
    return amplitudes


def peak_snr(dirty, wcs, ra, dec):
    """The dirty image at each true source's pixel over the image's robust noise (the sources' peak S/N)."""
    x, y = wcs.world_to_pixel_values(np.asarray(ra, dtype=float), np.asarray(dec, dtype=float))
    ix = np.clip(np.rint(np.atleast_1d(x)).astype(int), 0, dirty.shape[1] - 1)
    iy = np.clip(np.rint(np.atleast_1d(y)).astype(int), 0, dirty.shape[0] - 1)
    return dirty[iy, ix] / noise_sigma(dirty)


def print_peak_snr(values, label):
    values = np.asarray(values)[np.isfinite(values)]
    print(f"peak S/N of the sources in the dirty image, {label}: percentiles 10/25/50/75/90 "
          + "/".join(f"{p:.1f}" for p in np.percentile(values, [10, 25, 50, 75, 90]))
          + f"; range {values.min():.1f}-{values.max():.1f} ({len(values)} sources)")


config = SimulationConfig()
pixel_scale = config.image.pixel_scale_arcsec
start = time.perf_counter()
catalogs, truth_columns, flux_ratios, peaks = {}, {}, [], []
for i in range(args.n):
    result = simulate_image(config, np.random.default_rng([args.seed, i]))
    rows = truth_rows(i, result["sources"], result["wcs"], config)
    for key, values in rows.items():
        truth_columns.setdefault(key, []).append(values)
    peaks.extend(peak_snr(result["dirty"], result["wcs"], rows["ra"], rows["dec"]))
    catalogs[i] = peak_catalog(result["dirty"], result["wcs"])
    flux_ratios.extend(known_source_fluxes(result, pixel_scale) / np.atleast_1d(result["sources"]["flux"]))
truth = Table({key: np.concatenate(values) for key, values in truth_columns.items()})
flux_ratios = np.asarray(flux_ratios)
print(f"{args.n} simulated images (seed {args.seed}), {len(truth)} sources, {time.perf_counter() - start:.0f} s")
score_thresholds(catalogs, truth, f"{args.n} simulated images")
print_peak_snr(peaks, f"{args.n} simulated images")
within = np.abs(flux_ratios - 1) <= 0.2
snr = np.asarray(truth["snr"])
print("\n== flux fitted with the true position and shape (least squares on the dirty image)")
print(f"within 20 % of the truth: {100 * within.mean():.1f} % of all {len(within)} sources; "
      f"median |ratio - 1| {np.median(np.abs(flux_ratios - 1)):.3f}")
for lo, hi in ((1, 3), (3, 5), (5, 10.01)):
    sel = (snr >= lo) & (snr < hi)
    print(f"  flux/50 uJy in [{lo:g}, {min(hi, 10):g}): {100 * within[sel].mean():.1f} % of {sel.sum()}")

if args.casa:
    casa_truth, names, _ = read_casa_reference(Path(args.casa))
    casa_maps, casa_peaks = {}, []
    for name in names:
        with fits.open(f"{args.casa}/dirty_{name}.fits") as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CASA's OBSGEO/MJD-OBS header fixes
            data, wcs = hdul[0].data.squeeze().astype(float), WCS(hdul[0].header).celestial
        casa_maps[int(name)] = peak_catalog(data, wcs)
        here = casa_truth[casa_truth["image"] == int(name)]
        casa_peaks.extend(peak_snr(data, wcs, here["ra"], here["dec"]))
    score_thresholds(casa_maps, casa_truth, f"{len(casa_maps)} CASA-made reference images (too few to judge; a check)")
    print_peak_snr(casa_peaks, f"{len(casa_maps)} CASA-made reference images")
