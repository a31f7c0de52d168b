"""The Bayes detector: matched-filter candidates ranked by their exact posterior under the simulation's own prior.

Usage: python benchmarks/studies/bayes_detector.py [N] [SEED] [--calibration-images M] [--setup NAME]
       (default 500 test images, seed 2000000, as evaluate_models.py; thresholds chosen on M = 200 calibration
       images, seed 1500000; ``--setup`` one of benchmarks/setups.py's set-ups, its population and radii 0.21
       and 0.5 of its beam, instead of the seed's 0.18" and 0.5")

What issue 11's item 5 asks of a network (F1 at 0.18" >= the matched filter's best + 2) is a statement about
how well *any* catalogue can rank candidates. For an isolated source the data's likelihood is known in closed
form: with natural weighting the dirty image's noise has covariance sigma^2 B (B the PSF, peak 1), and a
source of flux f, unit-flux profile g (Gaussian of FWHM s) at x appears as f PB(x) (B * g)(x), so

    log L(f, s, x) - log L(no source) = [f PB a_s(x) - f^2 PB^2 Q_s / 2] / sigma^2,

with a_s = <g_s(. - x), dirty> (the dirty image smoothed by g_s: the matched filter) and Q_s = <g_s, B * g_s>.
The position is marginalised by Laplace's method (Fisher information f^2 PB^2 Q'_s / sigma^2 per axis,
Q'_s = <dg_s/dx, B * dg_s/dx>), f and s over the simulation's uniform priors, and the prior density of
sources (mean count over the disc of radius ``sources.max_radius_arcsec``) gives the posterior odds that a
source lies at the candidate. Each candidate's score is the posterior probability that a true source lies
within 0.18" of it: P(source) x E[P(|offset| < 0.18") | source], the offset's spread from the same Fisher
information. Ranking by this score is what an ideal catalogue of isolated sources does; its best F1 is the
ceiling a network's catalogue of the same candidates can approach. Rows printed: the matched filter at its
best threshold, the same inside the prior's disc, and the Bayes score (cut chosen on calibration images and
best on the test images), each with P, C, F1 at 0.18" and 0.5"; and the Bayes score's reliability diagram.
"""

import argparse
import time

import numpy as np
from astropy import units as u
from astropy.stats import gaussian_fwhm_to_sigma as FWHM_TO_SIGMA
from astropy.table import Table, vstack
from scipy import ndimage, signal

from astro_i2i.baselines import matched_filter_catalog
from astro_i2i.catalog import noise_sigma, reliability_diagram
from astro_i2i.metrics import match_sources, score_catalogs
from astro_i2i.simulate import SimulationConfig
from astro_i2i.training import CALIBRATION_SEED
from astro_i2i.simulate import validation_set

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import TEST_SEED, header_of, per_image_counts

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=TEST_SEED)
parser.add_argument("--calibration-images", type=int, default=200)
parser.add_argument("--candidate-nsigma", type=float, default=2.5, help="matched-filter S/N of the candidates")
parser.add_argument("--model", help="also score this model's catalogue (a shipped name or a .pt), alone and with "
                                    "the Bayes score as a second reliability feature")
parser.add_argument("--samples", type=int, default=10, help="style samples of --model's catalogue")
parser.add_argument("--setup", help="a set-up of benchmarks/setups.py (its simulation, and match radii of 0.21 and "
                                    "0.5 beam); default the seed's")
args = parser.parse_args()

if args.setup:
    import setups  # benchmarks/, on the path through _benchmarks_path

    config, _fwhm = setups.setup_config(args.setup)
    RADII = (0.21 * _fwhm, 0.5 * _fwhm)
else:
    RADII = (0.18, 0.5)
    config = SimulationConfig()
src = config.sources
pixel = config.image.pixel_scale_arcsec
SIZES = np.linspace(src.fwhm_min_arcsec, src.fwhm_max_arcsec, 5)  # circular sources spanning the prior's sizes
FLUXES = np.linspace(src.flux_min_jy, src.flux_max_jy, 91)  # the prior on flux is uniform
MEAN_COUNT = (1 - src.empty_fraction) * 0.5 * (src.n_min + src.n_max)
PRIOR_RADIUS = src.max_radius_arcsec / pixel  # pixels; sources are uniform within it
DENSITY = MEAN_COUNT / (np.pi * PRIOR_RADIUS**2)  # sources per pixel^2
MATCH = RADII[0] / pixel  # pixels


# The matched filter's template: the seed's 0.6" (the middle of its 0.4-0.8" sources), or a set-up's middle size.
TEMPLATE = 0.5 * (src.fwhm_min_arcsec + src.fwhm_max_arcsec) * u.arcsec if args.setup else 0.6 * u.arcsec


def size_constants(psf):
    """Q_s and Q'_s (see the module docstring) for each size in SIZES, on this PSF."""
    half = min(40, min(psf.shape) // 2 - 1)
    c = np.array(psf.shape) // 2
    beam = psf[c[0] - half : c[0] + half + 1, c[1] - half : c[1] + half + 1].astype(float)
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    q, q_pos = [], []
    for fwhm in SIZES:
        sigma = fwhm * FWHM_TO_SIGMA / pixel
        g = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
        g /= g.sum()
        dg = g * xx / sigma**2
        q.append(np.sum(g * signal.fftconvolve(g, beam, mode="same")))
        q_pos.append(np.sum(dg * signal.fftconvolve(dg, beam, mode="same")))
    return np.array(q), np.array(q_pos)


def bayes_score(image, x, y):
    """The Bayes score (P(a true source within 0.18")) of candidates at pixel positions ``x``, ``y`` of an image."""
    dirty, pb_map = image["dirty"], image["primary_beam"]
    filled = np.where(np.isfinite(dirty), dirty, 0.0).astype(float)
    ny, nx = dirty.shape
    ix = np.clip(np.round(np.asarray(x)).astype(int), 0, nx - 1)
    iy = np.clip(np.round(np.asarray(y)).astype(int), 0, ny - 1)
    sigma2 = noise_sigma(dirty) ** 2
    q, q_pos = size_constants(image["psf"])
    # a_s at each candidate: the largest smoothed value within 2 pixels (the likelihood's peak for that size)
    a = np.empty((len(ix), len(SIZES)))
    for k, fwhm in enumerate(SIZES):
        smooth = ndimage.maximum_filter(ndimage.gaussian_filter(filled, fwhm * FWHM_TO_SIGMA / pixel), size=5)
        a[:, k] = smooth[iy, ix]
    pb = np.asarray(pb_map, dtype=float)[iy, ix]
    f = FLUXES[None, :, None]
    amp = f * pb[:, None, None]  # apparent flux (n, F, 1)
    loglik = (amp * a[:, None, :] - 0.5 * amp**2 * q[None, None, :]) / sigma2
    fisher = amp**2 * q_pos[None, None, :] / sigma2  # per axis, pixels^-2
    log_volume = np.log(2 * np.pi / fisher)  # Laplace: the position integral's width
    within = 1 - np.exp(-0.5 * MATCH**2 * fisher)  # P(|offset| < 0.18") for a source of (f, s)
    log_terms = loglik + log_volume  # the prior weights over f and s are uniform: a mean
    top = log_terms.max(axis=(1, 2), keepdims=True) if len(ix) else np.zeros((0, 1, 1))
    evidence = np.exp(log_terms - top).mean(axis=(1, 2))  # x exp(top)
    evidence_within = (np.exp(log_terms - top) * within).mean(axis=(1, 2))
    radius = np.hypot(np.asarray(x) - config.image.size / 2, np.asarray(y) - config.image.size / 2)
    inside = radius <= PRIOR_RADIUS
    # P(source within 0.18") = rho E_within / (1 + rho E), computed stably in logs
    log_odds = np.log(DENSITY) + top[:, 0, 0]
    with np.errstate(over="ignore"):
        score = np.exp(log_odds) * evidence_within / (1 + np.exp(log_odds) * evidence)
    score = np.where(np.isfinite(score), score, evidence_within / np.maximum(evidence, 1e-300))
    return np.where(inside, score, 0.0), radius * pixel


def candidates(image):
    """The image's matched-filter candidates with their Bayes score; a Table (x, y, ra, dec, mf_snr, score)."""
    mf = matched_filter_catalog(image["dirty"], image["wcs"], pixel_scale=pixel * u.arcsec,
                                nsigma=args.candidate_nsigma, source_fwhm=TEMPLATE)  # fmt: skip
    x, y = mf["x"].value, mf["y"].value
    score, radius = bayes_score(image, x, y)
    return Table({"x": x, "y": y, "ra": mf["ra"].value, "dec": mf["dec"].value, "flux": np.zeros(len(x)),
                  "mf_snr": np.asarray(mf["mf_snr"]), "radius": radius, "score": score})  # fmt: skip


def catalogue_set(images):
    return {i: candidates(image) for i, image in enumerate(images)}


def cut(tables, column, value, inside=False):
    return {i: t[(np.asarray(t[column]) >= value) & ((np.asarray(t["radius"]) <= src.max_radius_arcsec) | (not inside))]
            for i, t in tables.items()}  # fmt: skip


def labelled(tables, truth_table):
    """All candidates of ``tables`` in one table, with labels: 1 if matched one-to-one to a true source within 0.18"."""
    rows, labels = [], []
    for i, table in tables.items():
        label = np.zeros(len(table))
        true = truth_table[np.asarray(truth_table["image"]) == i]
        if len(table) and len(true):
            label[match_sources(table, true, radius=RADII[0] * u.arcsec)[:, 0]] = 1
        rows.append(table)
        labels.append(label)
    return vstack(rows), np.concatenate(labels)


def f1(tables, truth, n, radius=None):
    radius = RADII[0] if radius is None else radius
    return np.nan_to_num(score_catalogs(tables, truth, radius=radius * u.arcsec, images=range(n)).f1)


def best(tables, truth, n, column, grid, inside=False):
    return max(grid, key=lambda v: f1(cut(tables, column, v, inside), truth, n))


def bootstrap_gain(a, b, resamples=2000):
    """F1 of ``b`` minus F1 of ``a`` (per-image counts), and its 2.5-97.5 % range over images resampled together."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(a), size=(resamples, len(a)))

    def f1_of(c):
        total = c[picks].sum(axis=1)
        return 200 * total[:, 0] / (total[:, 1] + total[:, 2])

    gain = f1_of(b) - f1_of(a)
    observed = 200 * (b[:, 0].sum() / (b[:, 1].sum() + b[:, 2].sum()) - a[:, 0].sum() / (a[:, 1].sum() + a[:, 2].sum()))
    return observed, np.percentile(gain, [2.5, 97.5]), 200 * a[:, 0].sum() / (a[:, 1].sum() + a[:, 2].sum())


def row(label, tables, truth, n):
    cells = []
    for r in RADII:
        s = score_catalogs(tables, truth, radius=r * u.arcsec, images=range(n))
        cells.append(f"{100 * s.purity:5.1f} {100 * s.completeness:5.1f} {100 * s.f1:5.1f}")
    print(f"  {label:58s} {cells[0]}   {cells[1]}", flush=True)


start = time.perf_counter()
calibration, calibration_truth = validation_set(config, args.calibration_images, CALIBRATION_SEED, psf=True)
cal = catalogue_set(calibration)
images, truth = validation_set(config, args.n, args.seed, psf=True)
test = catalogue_set(images)
print(f"{args.n} test images (seed {args.seed}, {len(truth)} sources), {args.calibration_images} calibration images "
      f"(seed {CALIBRATION_SEED}), candidates at matched-filter S/N >= {args.candidate_nsigma}: "
      f"{time.perf_counter() - start:.0f} s")  # fmt: skip

mf_grid = np.round(np.arange(3.0, 6.01, 0.25), 2)
score_grid = np.round(np.concatenate([np.arange(0.02, 0.2, 0.01), np.arange(0.2, 0.9, 0.02)]), 2)
n_cal = args.calibration_images
mf_cal = best(cal, calibration_truth, n_cal, "mf_snr", mf_grid)
mf_test = best(test, truth, args.n, "mf_snr", mf_grid)
mf_in_cal = best(cal, calibration_truth, n_cal, "mf_snr", mf_grid, inside=True)
mf_in_test = best(test, truth, args.n, "mf_snr", mf_grid, inside=True)
bayes_cal = best(cal, calibration_truth, n_cal, "score", score_grid)
bayes_test = best(test, truth, args.n, "score", score_grid)
if config.observation.weighting != "natural":
    # The likelihood's noise covariance sigma^2 B holds for natural weighting; with other weightings the score is
    # the same formula on the image's PSF (an approximation: the noise's correlation is not the PSF then).
    print(f"  ({config.observation.weighting} weighting: the score takes the noise's covariance as the PSF, which "
          "holds for natural weighting only; it is no ceiling here)")
heading = f"catalogue ({args.n} test images" + (f", {args.setup})" if args.setup else ")")
print(f"\n  {heading:58s} {'P':>5} {'C':>5} "
      f"{'F1':>5}   {'P':>5} {'C':>5} {'F1':>5}   (at {RADII[0]:.3g}\" | {RADII[1]:.3g}\")")  # fmt: skip
mf_label = f"matched filter {TEMPLATE.to_value(u.arcsec):.2g}\""
row(f"{mf_label}, S/N >= {mf_cal} (chosen on calibration)", cut(test, "mf_snr", mf_cal), truth, args.n)
row(f"{mf_label}, S/N >= {mf_test} (best on test)", cut(test, "mf_snr", mf_test), truth, args.n)
row(f"  + inside the prior's disc, S/N >= {mf_in_cal} (calibration)", cut(test, "mf_snr", mf_in_cal, True),
    truth, args.n)  # fmt: skip
row(f"  + inside the prior's disc, S/N >= {mf_in_test} (best on test)", cut(test, "mf_snr", mf_in_test, True),
    truth, args.n)  # fmt: skip
row(f"Bayes score >= {bayes_cal} (chosen on calibration)", cut(test, "score", bayes_cal), truth, args.n)
row(f"Bayes score >= {bayes_test} (best on test)", cut(test, "score", bayes_test), truth, args.n)

mf_counts = per_image_counts(cut(test, "mf_snr", mf_cal), truth, args.n, radius=RADII[0])
for label, tables in (("inside the disc", cut(test, "mf_snr", mf_in_cal, True)),
                      ("Bayes score", cut(test, "score", bayes_cal))):  # fmt: skip
    gain, (low, high), base = bootstrap_gain(mf_counts, per_image_counts(tables, truth, args.n, radius=RADII[0]))
    print(f"  F1 gain over the matched filter's {base:.1f} (cuts chosen on calibration), {label}: {gain:+.1f} "
          f"(95 % of image bootstraps: {low:+.1f} to {high:+.1f})")

# Is the score a probability?
test_candidates, test_labels = labelled(test, truth)
rows = reliability_diagram(np.asarray(test_candidates["score"]), test_labels, min_count=20)
print("\n  Bayes score as a reliability (test candidates): " + ", ".join(
    f"{r['predicted']:.2f}->{r['observed']:.2f} (n={r['n']})" for r in rows))  # fmt: skip
print(f"  total {time.perf_counter() - start:.0f} s")


if args.model:
    # The model's catalogue, every candidate (min_reliability 0), with the Bayes score at its refined position.
    from astro_i2i.catalog import ReliabilityModel
    from astro_i2i.io import fit_psf_beam
    from astro_i2i.reconstruct import Reconstructor

    reconstructor = Reconstructor.from_pretrained(args.model)
    # A set-up's images carry its own beam (the PSF's fit), as a user's would; the seed's, the model's.
    beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"]) if args.setup else reconstructor.beam
    settings = reconstructor.settings.detection_for(args.samples)

    def model_catalogs(images):
        out = {}
        for i, image in enumerate(images):
            result = reconstructor.reconstruct((image["dirty"], header_of(image, beam)),
                                               samples=args.samples, seed=i, primary_beam=image["primary_beam"],
                                               min_reliability=0.0, force=bool(args.setup))  # fmt: skip
            catalog = Table(result.catalog)
            table = Table({name: np.asarray(u.Quantity(catalog[name]).value) for name in ("ra", "dec", "x", "y")})
            table["flux"] = np.zeros(len(table))
            table["reliability"] = np.asarray(catalog["reliability"], dtype=float)
            table["score"], table["radius"] = bayes_score(image, table["x"], table["y"])
            out[i] = table
        return out

    begin = time.perf_counter()
    model_cal, model_test = model_catalogs(calibration), model_catalogs(images)
    print(f"\n{args.model}, K = {args.samples}: {time.perf_counter() - begin:.0f} s for {n_cal + args.n} images")

    def logit(p):
        p = np.clip(np.asarray(p, dtype=float), 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    for tables in (model_cal, model_test):
        for table in tables.values():
            table["logit_reliability"], table["logit_score"] = logit(table["reliability"]), logit(table["score"])
    features, labels = labelled(model_cal, calibration_truth)
    combined = ReliabilityModel.fit(features, labels, names=("logit_reliability", "logit_score"))
    print(f"  combined reliability: weights {combined.weights}, bias {combined.bias:.2f} (standardised features)")
    for tables in (model_cal, model_test):
        for table in tables.values():
            table["combined"] = combined.predict(table) if len(table) else np.zeros(0)
    rel_grid = np.round(np.arange(0.02, 0.9, 0.01), 2)
    rel_in_cal = best(model_cal, calibration_truth, n_cal, "reliability", rel_grid, inside=True)
    combined_cal = best(model_cal, calibration_truth, n_cal, "combined", rel_grid)
    shipped = cut(model_test, "reliability", settings.min_reliability)
    row(f"{args.model} K={args.samples}, reliability >= {settings.min_reliability} (shipped)", shipped, truth, args.n)
    inside_disc = cut(model_test, "reliability", rel_in_cal, True)
    row(f"  + inside the prior's disc, reliability >= {rel_in_cal} (calibration)", inside_disc, truth, args.n)
    with_bayes = cut(model_test, "combined", combined_cal)
    row(f"  reliability + Bayes score >= {combined_cal} (calibration)", with_bayes, truth, args.n)
    for label, tables in (("model as shipped", shipped), ("model inside the disc", inside_disc),
                          ("model + Bayes score", with_bayes)):  # fmt: skip
        gain, (low, high), base = bootstrap_gain(mf_counts, per_image_counts(tables, truth, args.n, radius=RADII[0]))
        print(f"  F1 gain over the matched filter's {base:.1f}, {label}: {gain:+.1f} "
              f"(95 % of image bootstraps: {low:+.1f} to {high:+.1f})")
    print(f"  total {time.perf_counter() - start:.0f} s")
