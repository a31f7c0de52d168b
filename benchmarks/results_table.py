"""The method's results table, side by side on the same simulated images (issue 12).

Usage: python benchmarks/results_table.py [N] [SEED] [--quick] [--small M] [--ddpm MODEL] [--ddpm-steps S]
                                          [--ddpm-sweep 250,50,25,5] [--plot PNG] [--rows ...]

Defaults: 500 test images, seed 2000000 (the seed of ``evaluate_models.py``
and ``studies/detection_ceiling.py``), the shipped models, and a second table on the
first 20 of them (``--small``) where the DDPM also runs with 250, 50, 25 and 5
DDIM steps x 20 samples (``--ddpm-sweep``; 250 x 20 is 5000 network runs per
image: too slow for 500 images on a CPU).
``--quick``: 50 images and a second table on the first 5 (about 15 minutes on
two cores).

Rows, each run as a user runs it (model load excluded from the times):

- ``mse``: the MSE U-Net (``Reconstructor.reconstruct``, one run);
- ``ddpm``: the conditional DDPM, ``--ddpm-steps`` DDIM steps (default: the
  checkpoint's) x 20 samples, and in the second table also the step counts
  of ``--ddpm-sweep``;
- ``direct``, ``k10``: the 2-to-1 model, direct and K = 10;
- ``clean_bdsf``: CLEAN (radler multiscale to 3 sigma, restored with the
  fitted beam) + PyBDSF (``bdsf.process_image``, thresh_pix 5, thresh_isl 3,
  fluxes corrected by the primary beam);
- ``clean_cat``: the same CLEAN + the package's catalogue
  (`astro_i2i.baselines.clean_catalog`: PyBDSF-like islands, 5 sigma peaks);
- ``mf``: the matched filter on the dirty image
  (`astro_i2i.baselines.matched_filter_catalog`), peaks above 4 sigma (its best
  F1 in ``studies/detection_ceiling.py``), fluxes by the least-squares fit;
- ``true``: photutils on the true sky (the upper bound; the recipe that gives
  the published F1 99.4).

Columns: P, C, F1 within 0.18" and within 0.5"; completeness per S/N bin
(true flux / 50 uJy); fraction of fluxes within 20 % (matches within 0.18");
flux_err coverage (true flux within +- 1.96 flux_err, where a method gives
one); network runs per image; wall seconds per 512 x 512 image on this machine.
"""

import argparse
import time
import warnings

import numpy as np
from _common import TEST_SEED, header_of, matched_pairs
from astropy import units as u

from astro_i2i.baselines import clean, matched_filter_catalog, pybdsf_catalog, restored_catalog, true_sky_catalog
from astro_i2i.exceptions import CalibrationWarning
from astro_i2i.io import fit_psf_beam
from astro_i2i.metrics import score_catalogs
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import SimulationConfig
from astro_i2i.simulate import validation_set

ALL_ROWS = ("mse", "ddpm", "direct", "k10", "clean_bdsf", "clean_cat", "mf", "true")
SNR_BINS = (1.0, 3.0, 5.0, 7.5, np.inf)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=None, help="test images (default 500; 50 with --quick)")
parser.add_argument("seed", nargs="?", type=int, default=TEST_SEED)
parser.add_argument("--quick", action="store_true", help="50 images, second table on 5")
parser.add_argument("--small", type=int, default=None, help="images of the second table (default 20; 5 with --quick)")
parser.add_argument("--mse", default="mse")
parser.add_argument("--two-to-one", default="two_to_one")
parser.add_argument("--ddpm", default="ddpm", help="DDPM checkpoint (a path, or the shipped 'ddpm')")
parser.add_argument("--ddpm-steps", type=int, default=None, help="DDIM steps of the main table (default: the model's)")
parser.add_argument("--ddpm-sweep", default="250,50,25,5",
                    help="DDIM step counts of the DDPM's extra rows in the second table (comma-separated)")
parser.add_argument("--ddpm-samples", type=int, default=20)
parser.add_argument("--rows", default=",".join(ALL_ROWS), help=f"rows to run, of {', '.join(ALL_ROWS)}")
parser.add_argument("--plot", default=None, help="write the figure here (PNG)")
args = parser.parse_args()
n_images = args.n or (50 if args.quick else 500)
n_small = min(n_images, args.small or (5 if args.quick else 20))
rows = [r for r in args.rows.split(",") if r]
unknown = set(rows) - set(ALL_ROWS)
if unknown:
    parser.error(f"unknown rows {sorted(unknown)}; known: {', '.join(ALL_ROWS)}")

start = time.perf_counter()
simulation = SimulationConfig()
images, truth = validation_set(simulation, n_images, args.seed, psf=True)
print(f"{n_images} test images (seed {args.seed}), {len(truth)} sources; second table on the first {n_small}; "
      f"simulated in {time.perf_counter() - start:.0f} s")  # fmt: skip
pixel_scale = simulation.image.pixel_scale_arcsec * u.arcsec
frequency = simulation.observation.frequency_ghz * u.GHz


def model_method(reconstructor, samples, steps=None):
    """A model's catalogue and sky, as ``Reconstructor.reconstruct`` gives them (its calibrated operating point)."""
    runs = reconstructor.model.network_runs(samples) if steps is None else steps * samples

    def run(i, image):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            result = reconstructor.reconstruct((image["dirty"], header_of(image, reconstructor.beam)),
                                               samples=samples, seed=i, steps=steps,
                                               primary_beam=image["primary_beam"])  # fmt: skip
        return result.catalog, result.sky

    return run, runs


_cleaned = {}


def _clean(i, image):
    """CLEAN once per image for both CLEAN rows (the rows run one after the other); its time is added to each."""
    if i not in _cleaned:
        begin = time.perf_counter()
        beam = fit_psf_beam(image["psf"], image["wcs"])
        restored, _, _ = clean(image["dirty"], image["psf"], beam, pixel_scale=pixel_scale)
        _cleaned[i] = (restored, beam, time.perf_counter() - begin)
    return _cleaned[i]


def clean_bdsf(i, image):
    restored, beam, seconds = _clean(i, image)
    catalog = pybdsf_catalog(restored, image["wcs"], beam, frequency=frequency, primary_beam=image["primary_beam"])
    return catalog, restored, seconds


def clean_cat(i, image):
    restored, beam, seconds = _clean(i, image)
    return restored_catalog(restored, image["wcs"], beam, primary_beam=image["primary_beam"]), restored, seconds


def matched_filter(i, image):
    table = matched_filter_catalog(image["dirty"], image["wcs"], beam=reference_beam, nsigma=4.0,
                                   primary_beam=image["primary_beam"])  # fmt: skip
    return table, None  # the figure shows the dirty image already


def true_sky(i, image):
    return true_sky_catalog(image["sky"], image["wcs"]), image["sky"]


# ----------------------------------------------------------------------------- the methods
methods = []  # (key, label, function(i, image) -> (catalog, image[, extra seconds]), network runs)
two = Reconstructor.from_pretrained(args.two_to_one) if {"direct", "k10"} & set(rows) else None
reference_beam = (two or Reconstructor.from_pretrained(args.mse)).beam
for key in rows:
    if key == "mse":
        function, runs = model_method(Reconstructor.from_pretrained(args.mse), 1)
        methods.append((key, "MSE U-Net", function, runs))
    elif key == "ddpm":
        ddpm = Reconstructor.from_pretrained(args.ddpm)
        steps = args.ddpm_steps or ddpm.model.sampling_steps
        function, runs = model_method(ddpm, args.ddpm_samples, steps)
        methods.append((key, f"DDPM ({steps} steps x {args.ddpm_samples})", function, runs))
    elif key == "direct":
        function, runs = model_method(two, 1)
        methods.append((key, "2-to-1 direct", function, runs))
    elif key == "k10":
        function, runs = model_method(two, 10)
        methods.append((key, "2-to-1 K = 10", function, runs))
    elif key == "clean_bdsf":
        methods.append((key, "CLEAN (radler) + PyBDSF", clean_bdsf, 0))
    elif key == "clean_cat":
        methods.append((key, "CLEAN (radler) + astro-i2i catalogue", clean_cat, 0))
    elif key == "mf":
        methods.append((key, "matched filter, dirty image (4 sigma)", matched_filter, 0))
    elif key == "true":
        methods.append((key, "photutils on the true sky (upper bound)", true_sky, 0))
small_only = []
for sweep_steps in [int(s) for s in args.ddpm_sweep.split(",") if s] if "ddpm" in rows else []:
    function, runs = model_method(ddpm, args.ddpm_samples, sweep_steps)
    small_only.append(("ddpm_sweep", f"DDPM ({sweep_steps} steps x {args.ddpm_samples})", function, runs))

EXAMPLES = (0, 1, 2)  # the images shown in the figure


def run_method(function, indices):
    catalogs, seconds, examples = {}, [], {}
    for i in indices:
        begin = time.perf_counter()
        out = function(i, images[i])
        seconds.append(time.perf_counter() - begin + (out[2] if len(out) > 2 else 0.0))
        catalogs[i] = out[0]
        if i in EXAMPLES:
            examples[i] = out[1]
    return catalogs, np.asarray(seconds), examples


def figures(catalogs, indices, seconds, runs):
    near = score_catalogs(catalogs, truth, images=indices, snr_bins=SNR_BINS)
    far = score_catalogs(catalogs, truth, radius=0.5 * u.arcsec, images=indices)
    pairs = matched_pairs(catalogs, truth, radius=0.18 * u.arcsec)
    ratio = pairs["flux"] / pairs["true_flux"]
    has_err = np.isfinite(pairs["flux_err"])
    covered = np.abs(pairs["flux"] - pairs["true_flux"])[has_err] <= 1.96 * pairs["flux_err"][has_err]
    return {"P": near.purity, "C": near.completeness, "F1": near.f1, "F1_05": far.f1,
            "by_snr": near.completeness_by_snr(), "within20": np.mean(np.abs(ratio - 1) <= 0.2) if len(ratio) else np.nan,
            "flux_err_cov": np.mean(covered) if has_err.any() else np.nan, "runs": runs,
            "seconds": float(np.mean(seconds))}  # fmt: skip


def print_table(title, results):
    print(f"\n{title}")
    header = (f"{'method':<42} {'P':>5} {'C':>5} {'F1':>5} {'F1@0.5':>6} | C by S/N: {'[1,3)':>5} {'[3,5)':>5} "
              f"{'[5,7.5)':>7} {'[7.5,10]':>8} | {'w20%':>5} {'ferr':>5} | {'runs':>5} {'s/img':>6}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for label, r in results:
        c = [100 * row[3] for row in r["by_snr"]]
        print(f"{label[:42]:<42} {100 * r['P']:5.1f} {100 * r['C']:5.1f} {100 * r['F1']:5.1f} {100 * r['F1_05']:6.1f} | "
              f"{'':9} {c[0]:5.1f} {c[1]:5.1f} {c[2]:7.1f} {c[3]:8.1f} | {100 * r['within20']:5.1f} "
              f"{100 * r['flux_err_cov']:5.1f} | {r['runs']:5d} {r['seconds']:6.2f}")  # fmt: skip


small = list(range(n_small))
main_results, small_results, examples_of = [], [], {}
for key, label, function, runs in methods:
    begin = time.perf_counter()
    catalogs, seconds, examples = run_method(function, range(n_images))
    main_results.append((label, figures(catalogs, range(n_images), seconds, runs)))
    small_results.append((label, figures({i: catalogs[i] for i in small}, small, seconds[:n_small], runs)))
    examples_of[label] = examples
    print(f"  {label}: {time.perf_counter() - begin:.0f} s", flush=True)
for key, label, function, runs in small_only:
    begin = time.perf_counter()
    catalogs, seconds, examples = run_method(function, small)
    small_results.append((label, figures(catalogs, small, seconds, runs)))
    examples_of[label] = examples
    print(f"  {label}: {time.perf_counter() - begin:.0f} s", flush=True)

print_table(f"== {n_images} test images (seed {args.seed}); F1 etc. in %, matching within 0.18\" unless marked",
            main_results)  # fmt: skip
print_table(f"== the first {n_small} of them, with the DDPM at other step counts", small_results)
print(f"\ntotal {time.perf_counter() - start:.0f} s")

if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = [label for label, _ in main_results if any(v is not None for v in examples_of[label].values())]
    fig = plt.figure(figsize=(2.2 * (len(shown) + 1), 2.2 * (len(EXAMPLES) + 1.6)))
    grid = fig.add_gridspec(len(EXAMPLES) + 1, len(shown) + 1, height_ratios=[1.6] + [1] * len(EXAMPLES))
    curve = fig.add_subplot(grid[0, :])
    centres = [2, 4, 6.25, 8.75]
    for label, r in main_results:
        curve.plot(centres, [row[3] for row in r["by_snr"]], "o-", ms=3, label=label)
    for label, r in small_results[len(main_results):]:
        curve.plot(centres, [row[3] for row in r["by_snr"]], "s--", ms=3, label=f"{label} (first {n_small})")
    curve.set(xlabel="true flux / 50 uJy", ylabel="completeness (0.18\")", ylim=(0, 1.02),
              title=f"completeness by S/N, {n_images} test images")  # fmt: skip
    curve.legend(fontsize=6, ncol=2)
    centre = slice(128, 384)
    for row, i in enumerate(EXAMPLES):
        panels = [("dirty", images[i]["dirty"])] + [(label, examples_of[label].get(i)) for label in shown]
        for column, (label, array) in enumerate(panels):
            axis = fig.add_subplot(grid[row + 1, column])
            if array is not None:
                cut = np.asarray(array)[centre, centre]
                finite = cut[np.isfinite(cut)]
                vmax = np.percentile(finite, 99.9) if finite.size else 1
                axis.imshow(cut, origin="lower", cmap="inferno", vmin=0 if label != "dirty" else None, vmax=vmax)
            true = truth[np.asarray(truth["image"]) == i]
            xy = images[i]["wcs"].world_to_pixel_values(np.asarray(true["ra"]), np.asarray(true["dec"]))
            axis.plot(np.asarray(xy[0]) - 128, np.asarray(xy[1]) - 128, "o", mfc="none", mec="cyan", ms=8, mew=0.6)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(label, fontsize=6)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=80)
    print(f"figure -> {args.plot}")
