"""The shipped models against the matched filter, on freshly simulated test images (issue 11's table).

Usage: python benchmarks/evaluate_models.py [N] [SEED] [--mse MSE.pt] [--two-to-one MODEL.pt] [--no-generation]
                                            [--plot PNG]

Defaults: 500 images, seed 2000000 (training draws seeds 1 and 2 on the fly,
validation uses 1000000, calibration 1500000), the shipped models. Every model
runs as a user runs it: ``Reconstructor.reconstruct`` on the dirty image with
its header (beam, WCS), seed = image number, then its catalogue at the
model's benchmark operating point (the best F1 at 0.18" on the calibration
images; a user's default cut is the best F1 at half a beam). Printed per row:

- P, C, F1 within 0.18" and within 0.5";
- median position error of the sources matched within 0.5" (and per S/N bin);
- median flux ratio (catalogue / truth) per S/N bin (flux / 50 uJy) and the
  fraction within 20 %; flux_err coverage (true flux within +- 1.96 flux_err);
- pixel coverage of the UNCERTAINTY map on source pixels (true sky above 10 %
  of its peak) and over the disc, and the Spearman correlation of sigma with
  |error| on source pixels;
- reliability calibration: the largest |predicted - observed| over 10-point
  bins of predicted reliability holding >= 20 sources (all candidates,
  min_reliability 0), a source real when a true one lies within half a beam
  FWHM (what ``reliability`` claims);
- position errors: the share of real sources (within half a beam, at the
  model's default operating point) whose true RA (Dec) lies within
  1.96 ra_err (dec_err), and (``size``) the true FWHM within
  fwhm_maj +- 1.96 size_err for 'extended' sources or below fwhm_limit for
  'point' ones;
- seconds per 512 x 512 image (network, catalogue and uncertainty; model load excluded).

The matched-filter rows are the classical yardsticks
(`astro_i2i.baselines.matched_filter_catalog`): the dirty image smoothed
by a 0.6" Gaussian, peaks above 4 sigma (its best F1 in
``benchmarks/studies/detection_ceiling.py``), fluxes by the same least-squares fit the
models' catalogues use; and the same peaks down to 2.5 sigma with a
reliability fitted on 300 calibration images (``--calibration-images``) from their matched-filter S/N at
three scales and the primary beam (the best the pixel statistics allow).
"""

import argparse
import time

import numpy as np
from _common import TEST_SEED, chance_of_error, header_of, matched_pairs
from astropy import units as u
from astropy.table import vstack
from scipy import stats

from astro_i2i.baselines import matched_filter_catalog
from astro_i2i.catalog import ReliabilityModel, reliability_diagram
from astro_i2i.metrics import match_sources, score_catalogs
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import SimulationConfig
from astro_i2i.training import CALIBRATION_SEED
from astro_i2i.simulate import validation_set

parser = argparse.ArgumentParser()
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=TEST_SEED)
parser.add_argument("--mse", default="mse")
parser.add_argument("--two-to-one", default="two_to_one")
parser.add_argument("--no-generation", action="store_true")
parser.add_argument("--rows", default="mf,mse,direct,k10",
                    help="rows to run, of mf (both matched-filter rows), mse, direct, k10 (the 2-to-1 modes)")
parser.add_argument("--calibration-images", type=int, default=300,
                    help=f"images on which the matched filter's reliability is fitted (seed {CALIBRATION_SEED})")
parser.add_argument("--plot", default=None, help="write the reliability diagram and completeness plot here (PNG)")
args = parser.parse_args()

SNR_BINS = ((1, 3), (3, 5), (5, 7.5), (7.5, 10.01))
start = time.perf_counter()
simulation = SimulationConfig()
images, truth = validation_set(simulation, args.n, args.seed)
print(f"{args.n} test images (seed {args.seed}), {len(truth)} sources, simulated in {time.perf_counter() - start:.0f} s")
truth_image = np.asarray(truth["image"])


def score_rows(catalogs, label, *, seconds=None, coverage=None, reliability=None, position_figures=None):
    """Print one row of the table and return its figures."""
    near = score_catalogs(catalogs, truth)
    far = score_catalogs(catalogs, truth, radius=0.5 * u.arcsec)
    positions = matched_pairs(catalogs, truth, radius=0.5 * u.arcsec)
    fluxes = matched_pairs(catalogs, truth, radius=0.18 * u.arcsec)
    errors, errors_snr = positions["separation"], positions["snr"]
    ratios, ratios_snr = fluxes["flux"] / fluxes["true_flux"], fluxes["snr"]
    covered = np.abs(fluxes["flux"] - fluxes["true_flux"]) <= 1.96 * fluxes["flux_err"]
    covered = covered.astype(float)
    figures = {"label": label, "P": near.purity, "C": near.completeness, "F1": near.f1, "F1_05": far.f1,
               "P_05": far.purity, "C_05": far.completeness,
               "pos_err": np.median(errors) if len(errors) else np.nan,
               "flux_ratio": np.median(ratios) if len(ratios) else np.nan,
               "within20": np.mean(np.abs(ratios - 1) <= 0.2) if len(ratios) else np.nan,
               "flux_err_cov": np.mean(covered) if len(covered) else np.nan,
               "completeness_by_snr": near.completeness_by_snr()}  # fmt: skip
    bins = []
    for low, high in SNR_BINS:
        inside_r = (ratios_snr >= low) & (ratios_snr < high)
        inside_e = (errors_snr >= low) & (errors_snr < high)
        bins.append((low, min(high, 10), np.median(errors[inside_e]) if inside_e.any() else np.nan,
                     np.median(ratios[inside_r]) if inside_r.any() else np.nan, int(inside_r.sum())))  # fmt: skip
    above = ratios_snr >= 5
    figures["flux_ratio_above_5"] = np.median(ratios[above]) if above.any() else np.nan
    figures["bins"] = bins
    figures.update(coverage or {})
    figures.update(position_figures or {})
    figures["reliability_error"] = np.nan
    if reliability is not None:
        rows = reliability_diagram(*reliability, min_count=20)
        figures["reliability_error"] = max(abs(r["predicted"] - r["observed"]) for r in rows) if rows else np.nan
        figures["diagram"] = rows
    figures["s_per_image"] = seconds if seconds is not None else np.nan
    rows_out.append(figures)
    return figures


def reliability_labels(catalogs, radius=None):
    """(reliability, label) of every entry, real when a true source lies within ``radius`` (default half a beam)."""
    values, labels = [], []
    for i, catalog in catalogs.items():
        if not len(catalog):
            continue
        pairs = match_sources(catalog, truth[truth_image == i], radius=HALF_BEAM if radius is None else radius)
        label = np.zeros(len(catalog))
        label[pairs[:, 0]] = 1
        values.extend(np.asarray(catalog["reliability"], dtype=float))
        labels.extend(label)
    return np.asarray(values), np.asarray(labels)


def run_model(reconstructor, label, samples):
    beam = reconstructor.beam
    settings = reconstructor.settings.detection_for(samples)
    everything, chosen, default, seconds = {}, {}, {}, 0.0
    source_hits, disc_hits, sigma_src, err_src = [], [], [], []
    rng = np.random.default_rng(0)
    for i, image in enumerate(images):
        begin = time.perf_counter()
        result = reconstructor.reconstruct((image["dirty"], header_of(image, beam)), samples=samples, seed=i,
                                           primary_beam=image["primary_beam"], min_reliability=0.0)  # fmt: skip
        seconds += time.perf_counter() - begin
        catalog = result.catalog
        everything[i] = catalog
        chosen[i] = catalog[np.asarray(catalog["reliability"]) >= settings.benchmark_cut]
        default[i] = catalog[np.asarray(catalog["reliability"]) >= settings.min_reliability]
        if result.uncertainty is not None:
            truth_sky, finite = image["sky"], np.isfinite(image["dirty"])
            error = np.abs(result.sky - truth_sky)
            inside = 1.96 * result.uncertainty >= error
            if truth_sky.max() > 0:
                source = finite & (truth_sky > 0.1 * truth_sky.max())
                source_hits.extend(inside[source])
                sigma_src.extend(result.uncertainty[source])
                err_src.extend(error[source])
            picked = rng.choice(np.flatnonzero(finite), 3000, replace=False)
            disc_hits.extend(inside.ravel()[picked])
    coverage = {}
    if source_hits:
        coverage = {"pix_cov_source": np.mean(source_hits), "pix_cov_disc": np.mean(disc_hits),
                    "spearman": stats.spearmanr(sigma_src, err_src).statistic}  # fmt: skip
    mode = "direct" if samples == 1 else f"K={samples}"
    return score_rows(chosen, f"{label} {mode}", seconds=seconds / len(images), coverage=coverage,
                      reliability=reliability_labels(everything), position_figures=position_coverage(default))  # fmt: skip


def position_coverage(catalogs):
    """The share of real sources (within half a beam) with the true RA (Dec) within 1.96 ra_err (dec_err), and
    with the true (geometric-mean) FWHM within fwhm_maj +- 1.96 size_err ('extended') or below fwhm_limit ('point')."""
    hits_ra, hits_dec, hits_size, n_extended = [], [], [], 0
    for i, catalog in catalogs.items():
        true = truth[truth_image == i]
        if not len(catalog) or not len(true) or "ra_err" not in catalog.colnames:
            continue
        pairs = match_sources(catalog, true, radius=HALF_BEAM)
        d, t = catalog[pairs[:, 0]], true[pairs[:, 1]]
        dec = u.Quantity(d["dec"], u.deg).value
        dra = ((np.asarray(t["ra"], dtype=float) - u.Quantity(d["ra"], u.deg).value + 180) % 360 - 180) * 3600
        dra *= np.cos(np.radians(dec))
        ddec = (np.asarray(t["dec"], dtype=float) - dec) * 3600
        hits_ra.extend(np.abs(dra) <= 1.96 * u.Quantity(d["ra_err"], u.arcsec).value)
        hits_dec.extend(np.abs(ddec) <= 1.96 * u.Quantity(d["dec_err"], u.arcsec).value)
        if "fwhm_limit" in d.colnames:
            true_size = np.sqrt(np.asarray(t["fwhm_maj"], dtype=float) * np.asarray(t["fwhm_min"], dtype=float))
            fwhm, err = u.Quantity(d["fwhm_maj"], u.arcsec).value, u.Quantity(d["size_err"], u.arcsec).value
            limit = u.Quantity(d["fwhm_limit"], u.arcsec).value
            extended = np.isfinite(fwhm) & np.isfinite(err)
            point = np.isfinite(limit)
            hits_size.extend(np.abs(true_size[extended] - fwhm[extended]) <= 1.96 * err[extended])
            hits_size.extend(true_size[point] <= limit[point])
            n_extended += int(extended.sum())
    return {"pos_cov_ra": np.mean(hits_ra) if hits_ra else np.nan,
            "pos_cov_dec": np.mean(hits_dec) if hits_dec else np.nan,
            "size_cov": np.mean(hits_size) if hits_size else np.nan,
            "resolved": n_extended / len(hits_size) if hits_size else np.nan}


rows_out = []
mse = Reconstructor.from_pretrained(args.mse)
two = Reconstructor.from_pretrained(args.two_to_one)
beam = two.beam
#: What a catalogue's reliability claims: a true source within half a beam FWHM.
HALF_BEAM = 0.5 * np.sqrt(beam.major * beam.minor).to(u.arcsec)

rows = set(args.rows.split(","))
MF_SCALES = (0.4 * u.arcsec, 0.8 * u.arcsec)  # the reliability's other matched-filter S/N (columns mf_0.4, mf_0.8)


def mf_candidates(image):
    """Matched-filter peaks down to 2.5 sigma: the candidates of both matched-filter rows."""
    return matched_filter_catalog(image["dirty"], image["wcs"], beam=beam, nsigma=2.5,
                                  primary_beam=image["primary_beam"], scales=MF_SCALES)  # fmt: skip


begin = time.perf_counter()
mf = {i: mf_candidates(image) for i, image in enumerate(images if "mf" in rows else [])}
mf_seconds = (time.perf_counter() - begin) / len(images)
if "mf" in rows:
    score_rows({i: t[np.asarray(t["mf_snr"]) >= 4.0] for i, t in mf.items()}, "matched filter (4 sigma)",
               seconds=mf_seconds)  # fmt: skip

# The classical ceiling: a reliability from the pixel statistics alone, fitted on calibration images.
calibration, calibration_truth = validation_set(simulation, args.calibration_images, CALIBRATION_SEED) if "mf" in rows \
    else ([], {"image": []})  # fmt: skip
features = ("mf_snr", "mf_0.4", "mf_0.8", "primary_beam")
candidates, labels = [], []
for i, image in enumerate(calibration):
    table = mf_candidates(image)
    if not len(table):
        continue
    true = calibration_truth[np.asarray(calibration_truth["image"]) == i]
    label = np.zeros((2, len(table)))  # real within half a beam (the fit), within 0.18" (the benchmark's cut)
    for row, radius in enumerate((HALF_BEAM, 0.18 * u.arcsec)):
        label[row, match_sources(table, true, radius=radius)[:, 0]] = 1
    candidates.append(table)
    labels.append(label)

if "mf" in rows:
    candidates, labels = vstack(candidates, metadata_conflicts="silent"), np.concatenate(labels, axis=1)
    classical = ReliabilityModel.fit(candidates, labels[0], names=features)
    labels = labels[1]
    cal_reliability = classical.predict(candidates)
n_cal_true = len(calibration_truth)
cuts = np.round(np.arange(0.02, 0.96, 0.01), 2)


def _f1(cut):
    tp = labels[cal_reliability >= cut].sum()
    p, c = tp / max((cal_reliability >= cut).sum(), 1), tp / n_cal_true
    return 2 * p * c / (p + c) if p + c else 0


if "mf" in rows:
    best_cut = max(cuts, key=_f1)
    for table in mf.values():
        table["reliability"] = classical.predict(table) if len(table) else np.zeros(0)
    score_rows({i: t[np.asarray(t["reliability"]) >= best_cut] for i, t in mf.items()},
               f"matched filter + reliability (MF S/N x3, PB; >= {best_cut:.2f})", seconds=mf_seconds,
               reliability=reliability_labels(mf))  # fmt: skip

if "mse" in rows:
    run_model(mse, "mse", 1)
if "direct" in rows:
    run_model(two, "2-to-1", 1)
if "k10" in rows:
    run_model(two, "2-to-1", 10)

print()
header = (f"{'row':<46} {'P':>5} {'C':>5} {'F1':>5} | {'F1@0.5':>6} | {'pos':>5} | {'S/S0':>5} {'>5sig':>5} "
          f"{'w20%':>5} {'ferr':>5} | {'pixS':>5} {'pixD':>5} {'rho':>5} | {'relE':>5} | {'posRA':>5} {'posDe':>5} {'size':>5} | "
          f"{'s/img':>5}")  # fmt: skip
print(header)
print("-" * len(header))
for r in rows_out:
    print(f"{r['label'][:46]:<46} {100 * r['P']:5.1f} {100 * r['C']:5.1f} {100 * r['F1']:5.1f} | "
          f"{100 * r['F1_05']:6.1f} | {r['pos_err']:5.3f} | {r['flux_ratio']:5.2f} {r['flux_ratio_above_5']:5.2f} "
          f"{100 * r['within20']:5.1f} {100 * r['flux_err_cov']:5.1f} | {100 * r.get('pix_cov_source', np.nan):5.1f} "
          f"{100 * r.get('pix_cov_disc', np.nan):5.1f} {r.get('spearman', np.nan):5.2f} | "
          f"{100 * r['reliability_error']:5.1f} | {100 * r.get('pos_cov_ra', np.nan):5.1f} "
          f"{100 * r.get('pos_cov_dec', np.nan):5.1f} {100 * r.get('size_cov', np.nan):5.1f} | "
          f"{r['s_per_image']:5.2f}")  # fmt: skip
print("\nper S/N bin (flux / 50 uJy): median position error (\") / median flux ratio (n matched within 0.18\") / "
      "completeness at 0.18\"")
for r in rows_out:
    cells = []
    for (low, high, pos, ratio, n), (_, _, _, completeness) in zip(r["bins"], r["completeness_by_snr"][1:]):
        cells.append(f"[{low:g},{high:g}): {pos:5.3f} / {ratio:4.2f} ({n:3d}) / {100 * completeness:4.1f}")
    print(f"{r['label'][:46]:<46} " + "  ".join(cells))
for r in rows_out:
    if "diagram" in r:
        print(f"reliability diagram, {r['label']}: " + ", ".join(
            f"[{d['low']:.1f},{d['high']:.1f}) n={d['n']} {d['predicted']:.2f}->{d['observed']:.2f}" for d in r["diagram"]))


for r in rows_out:
    if np.isfinite(r.get("resolved", np.nan)):
        print(f"{r['label']}: {100 * r['resolved']:.1f} % of the real sources at the default cut are 'extended' "
              f"(the rest 'point', with an upper limit)")
for r in rows_out:
    if r.get("diagram"):
        print(f"reliability error {100 * r['reliability_error']:.1f} points, {r['label']}: a perfectly calibrated "
              f"model with these bins reaches it with probability {chance_of_error(r['diagram'], r['reliability_error']):.2f}, "
              f"and 10 points with {chance_of_error(r['diagram'], 0.10):.2f}")  # fmt: skip

if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    left.plot([0, 1], [0, 1], color="grey", lw=0.8)
    left.fill_between([0, 1], [-0.1, 0.9], [0.1, 1.1], color="grey", alpha=0.15, label="+- 10 points")
    for r in rows_out:
        if "diagram" in r:
            left.plot([d["predicted"] for d in r["diagram"]], [d["observed"] for d in r["diagram"]], "o-", ms=3,
                      label=r["label"])  # fmt: skip
    left.set(xlabel="predicted reliability", ylabel="fraction real (a true source within half a beam)", xlim=(0, 1),
             ylim=(0, 1),
             title=f"reliability diagram, {args.n} test images")  # fmt: skip
    left.legend(fontsize=7)
    for r in rows_out:
        centres = [(lo + min(hi, 12)) / 2 for lo, hi, _, _ in r["completeness_by_snr"][1:]]
        right.plot(centres, [c for *_, c in r["completeness_by_snr"][1:]], "o-", ms=3, label=r["label"])
    right.set(xlabel="flux / 50 uJy", ylabel="completeness within 0.18\"", title="completeness by S/N")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=90)
    print(f"plot -> {args.plot}")

if not args.no_generation:
    import torch

    from astro_i2i.models import distance_correlation

    def network_tensors(reconstructor, indices):
        norm = reconstructor.normalisation
        dirty = np.stack([np.nan_to_num(images[i]["dirty"]) for i in indices])[:, None].astype(np.float32)
        sky = np.stack([images[i]["sky"] for i in indices])[:, None].astype(np.float32)
        x = norm.to_network_grid(torch.from_numpy(norm.dirty_to_network(dirty)), kind="dirty")
        c = norm.sky_to_network(norm.to_network_grid(torch.from_numpy(sky), kind="sky"))
        return x, c

    with torch.no_grad():
        values = []
        for first in range(0, args.n - 49, 50):
            x, c = network_tensors(two, range(first, first + 50))
            style = two.model.encode_style(c, x)
            values.append(float(distance_correlation(style.flatten(1), c.flatten(1))))
        print(f"distance correlation (style, sky), {len(values)} batches of 50: mean {np.mean(values):.3f}, "
              f"max {np.max(values):.3f}")  # fmt: skip
        norm = two.normalisation
        blank = ~np.isfinite(images[0]["dirty"])
        simulated = np.stack([images[i]["dirty"] for i in range(args.n)])
        generated = []
        for first in range(0, args.n, 25):
            indices = list(range(first, min(args.n, first + 25)))
            x, c = network_tensors(two, indices)
            partners = [(i * 7 + 3) % args.n for i in indices]  # another image's style: a random pairing
            xs, cs = network_tensors(two, partners)
            out = two.model.generate(c, two.model.encode_style(cs, xs))
            out = torch.nn.functional.interpolate(out, size=simulated.shape[-2:], mode="bicubic")
            generated.append(norm.dirty_from_network(out[:, 0]).numpy())
        generated = np.concatenate(generated)
        std_sim, std_gen = np.nanstd(simulated, axis=0), np.std(generated, axis=0)
        inside = ~blank & np.isfinite(std_sim)
        relative = np.abs(std_gen[inside] - std_sim[inside]) / std_sim[inside]
        print(f"generation: per-pixel std over {args.n} generated vs simulated dirty images: median relative "
              f"difference {100 * np.median(relative):.1f} % (median std {1e6 * np.median(std_gen[inside]):.1f} vs "
              f"{1e6 * np.median(std_sim[inside]):.1f} uJy/beam)")  # fmt: skip
print(f"total {time.perf_counter() - start:.0f} s")
