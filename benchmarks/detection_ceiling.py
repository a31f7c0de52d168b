"""What the dirty images allow: classical detection and flux limits at the dataset's noise.

Usage: python benchmarks/detection_ceiling.py [N] [SEED] [--casa DIR]
       (default 500 images, seed 2000000: the test images of evaluate_models.py; --casa scores the same detector on
       the CASA-made reference images in DIR, e.g. ../shared/reference/casa)

1. Matched filter: the dirty image (natural weighting: already the point-source
   matched filter) smoothed by a 0.6" Gaussian (a typical source), local peaks
   above t x its robust noise, positions refined by a quadratic fit; scored
   against the truth within 0.18" (and 0.5", to show how much is lost to
   position errors alone) for a grid of t.
2. Flux with everything but the flux known: the least-squares amplitude of each
   source's exact noiseless response (primary beam, PSF) fitted to the dirty
   image at its true position and shape. No method that estimates the flux
   from the same data can be expected to do much better; the fraction within
   20 % of the truth bounds the issue's flux target.
"""

import argparse
import time
import warnings

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from photutils.centroids import centroid_quadratic
from photutils.detection import find_peaks
from scipy import ndimage

from astro_i2i.catalog import noise_sigma
from astro_i2i.cli._catalog import format_score
from astro_i2i.metrics import score_catalogs
from astro_i2i.simulate import SimulationConfig, simulate_image, truth_rows
from astro_i2i.simulate._sky import SOURCE_FIELDS, render_sky

THRESHOLDS = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5)
SMOOTH_FWHM_ARCSEC = 0.6

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=2000000)
parser.add_argument("--casa", help="directory of CASA-made reference images (dirty_XXX.fits, truth.ecsv)")
args = parser.parse_args()


def filtered_snr(dirty, pixel_scale_arcsec):
    """Dirty image smoothed by a source-sized Gaussian, in units of its robust noise."""
    finite = np.isfinite(dirty)
    smooth = ndimage.gaussian_filter(np.where(finite, dirty, 0.0), SMOOTH_FWHM_ARCSEC / pixel_scale_arcsec / 2.3548)
    smooth[~finite] = np.nan
    return smooth / noise_sigma(smooth)


def peak_catalog(snr_map, wcs, threshold):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty field has no peaks
        peaks = find_peaks(np.nan_to_num(snr_map, nan=-np.inf), threshold, box_size=7,
                           centroid_func=centroid_quadratic)  # fmt: skip
    if peaks is None:
        return Table({"ra": np.zeros(0), "dec": np.zeros(0), "flux": np.zeros(0)})
    x = np.where(np.isfinite(peaks["x_centroid"]), peaks["x_centroid"], peaks["x_peak"])
    y = np.where(np.isfinite(peaks["y_centroid"]), peaks["y_centroid"], peaks["y_peak"])
    coords = wcs.pixel_to_world(x, y)
    return Table({"ra": coords.ra.deg, "dec": coords.dec.deg, "flux": np.full(len(peaks), np.nan)})


def score_thresholds(snr_maps, truth, label):
    print(f"\n== matched filter on the dirty image: {label}")
    best = None
    for threshold in THRESHOLDS:
        detections = {i: peak_catalog(m, w, threshold) for i, (m, w) in snr_maps.items()}
        near = score_catalogs(detections, truth)
        far = score_catalogs(detections, truth, radius=0.5 * u.arcsec)
        print(f"t = {threshold:.1f}: P {100 * near.purity:5.1f}  C {100 * near.completeness:5.1f}  "
              f"F1 {100 * near.f1:5.1f}   (within 0.5\": P {100 * far.purity:5.1f}  C {100 * far.completeness:5.1f}  "
              f"F1 {100 * far.f1:5.1f})")  # fmt: skip
        if best is None or near.f1 > best[1].f1:
            best = (threshold, near)
    print(f"best F1 at t = {best[0]:.1f}; " + ", ".join(
        line.strip() for line in format_score(best[1], len(snr_maps))[4:]))


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
snr_maps, truth_columns, flux_ratios, peaks = {}, {}, [], []
for i in range(args.n):
    result = simulate_image(config, np.random.default_rng([args.seed, i]))
    rows = truth_rows(i, result["sources"], result["wcs"], config)
    for key, values in rows.items():
        truth_columns.setdefault(key, []).append(values)
    peaks.extend(peak_snr(result["dirty"], result["wcs"], rows["ra"], rows["dec"]))
    snr_maps[i] = (filtered_snr(result["dirty"], pixel_scale), result["wcs"])
    flux_ratios.extend(known_source_fluxes(result, pixel_scale) / np.atleast_1d(result["sources"]["flux"]))
truth = Table({key: np.concatenate(values) for key, values in truth_columns.items()})
flux_ratios = np.asarray(flux_ratios)
print(f"{args.n} simulated images (seed {args.seed}), {len(truth)} sources, {time.perf_counter() - start:.0f} s")
score_thresholds(snr_maps, truth, f"{args.n} simulated images")
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
    table = Table.read(f"{args.casa}/truth.ecsv")
    casa_truth = Table({"image": [int(name) for name in table["image"]], "ra": table["ra_deg"],
                        "dec": table["dec_deg"], "flux": table["flux_jy"], "snr": table["snr"]})  # fmt: skip
    casa_maps, casa_peaks = {}, []
    for name in sorted(set(Table.read(f"{args.casa}/images.ecsv")["image"])):
        with fits.open(f"{args.casa}/dirty_{name}.fits") as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CASA's OBSGEO/MJD-OBS header fixes
            data, wcs = hdul[0].data.squeeze().astype(float), WCS(hdul[0].header).celestial
        casa_maps[int(name)] = (filtered_snr(data, pixel_scale), wcs)
        here = casa_truth[casa_truth["image"] == int(name)]
        casa_peaks.extend(peak_snr(data, wcs, here["ra"], here["dec"]))
    score_thresholds(casa_maps, casa_truth, f"{len(casa_maps)} CASA-made reference images (too few to judge; a check)")
    print_peak_snr(casa_peaks, f"{len(casa_maps)} CASA-made reference images")
