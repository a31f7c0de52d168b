"""The shipped model across ALMA 12-m set-ups, without adaptation, against a matched filter tuned per set-up (#29).

Usage::

    python benchmarks/setups.py                      # every set-up below, 100 test images each
    python benchmarks/setups.py --setups c6_b6,c3_b3 -n 50
    python benchmarks/setups.py --adapt c3_b3,c6_b6 --minutes 10   # also a 10-minute adapt of two set-ups
    python benchmarks/setups.py --model two_to_one_setups.pt      # another model than the shipped one

Each set-up is simulated by the package's simulator (exact ducc0 imaging, natural or Briggs weighting, its own PSF,
primary beam and noise), with the seed's population scaled to it: 1-5 Gaussians of 1.1-11 x the noise and
0.47-0.94 x the beam FWHM (the seed's 0.05-0.5 mJy and 0.4-0.8" at 46 uJy/beam and 0.85"), within the
primary beam's half-power radius as the seed's (and within the image). Per set-up, on ``n`` fresh test images (``TEST_SEED``):

- the matched filter (dirty image smoothed by the population's middle source size, peaks above t sigma),
  with t tuned for the best F1 at 0.21 beam on ``n`` other images of the set-up (``CALIBRATION_SEED``);
- the shipped 2-to-1 model as a user runs it (``Reconstructor.reconstruct`` with the image's header and
  primary beam; K = 10, its default cut), ``force=True`` past the beam check, with its default prior (the
  training population's sources per arcmin^2) and told the set-up's density (``source_density``: its
  1-5 sources over the disc they lie in; a second run);
- the same model tuned to the set-up (`astro_i2i.training.tune_to_setup`, ``reconstruct --tune ARRAY``), at
  each prior: its reliability map and cuts fitted on 40 images simulated exactly with the set-up's array and
  weighting (with the density told, or the model's population within the set-up's primary beam), drawn apart
  from the test images (``TUNE_SEED``); its row re-scores the same prior's run's candidates under the tuned map,
  cuts and flux_err scale, which is what the tuned model gives (the same candidates: tests/test_tune.py); its
  s/img adds the tuning's time over the ``n`` images;
- with ``--adapt``, the model adapted to the set-up for ``--minutes`` (`astro_i2i.training.adapt`, from one
  simulated image and its PSF written as a user's files).

A model's catalogue is cut at its benchmark operating point for the figures at 0.21 beam (the best F1 at that
radius on its calibration images, as ``benchmarks/evaluate_models.py`` does) and at its default one (the best F1
at the reliability's half beam) for those at 0.5 beam.

Printed per row: P/C/F1 at 0.21 beam FWHM (the seed's 0.18" at 0.85") and at 0.5 beam, flux_err coverage
(true flux within 1.96 flux_err, matches at 0.21 beam), UNCERTAINTY coverage on source pixels (true sky
above 10 % of its image's peak), the reliability calibration error (largest bin error, bins of >= 20
candidates, real = a true source within half a beam) and seconds per image of a user's run (K = 10, the
default cut, on the first 10 test images after a warm-up; ``--speed`` prints only these, on ``-n`` images).
At the end, the tuned rows' reliabilities pooled over the set-ups run, per prior: a reliability diagram whose bins
are large enough to tell a 10-point error from the test set's noise (`pooled_reliability`).
"""

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import TEST_SEED, chance_of_error, header_of, per_image_counts
from adapt_check import best_threshold, coverage, matched_filter_catalogs
from astropy import units as u

from astro_i2i import Reconstructor
from astro_i2i.catalog import reliability_diagram
from astro_i2i.io import fit_psf_beam
from astro_i2i.metrics import match_sources, score_catalogs
from astro_i2i.simulate import SimulationConfig, population_radius_arcsec, validation_set, write_dataset
from astro_i2i.training import CALIBRATION_SEED, adapt, tune_to_setup, untuned

#: name -> (antenna list, GHz, pixel scale ", image pixels, noise Jy/beam, declination deg[, Briggs robust or
#: "uniform"]). Natural weighting unless a robust parameter (or uniform) is given. Pixels per beam (geometric-mean
#: FWHM of the fitted PSF) in the comment; the seed's set-up is c3_b6.
SETUPS = {
    "c1_b6": ("alma.cycle5.1", 230.0, 0.30, 160, 46e-6, -30.0),  # 1.76" beam, 5.9 px/beam
    "c2_b3_dec+20": ("alma.cycle5.2", 100.0, 0.80, 160, 29e-6, 20.0),  # 3.05" beam, 3.8 px/beam
    "c3_b3": ("alma.cycle5.3", 100.0, 0.40, 256, 29e-6, -30.0),  # 1.97" beam, 4.9 px/beam
    "c3_b6": ("alma.cycle5.3", 230.0, 0.10, 512, 46e-6, 2.2),  # the seed: 0.85" beam, 8.5 px/beam
    "c3_b6_dec-70": ("alma.cycle5.3", 230.0, 0.10, 512, 46e-6, -70.0),
    "c4_b7": ("alma.cycle5.4", 345.0, 0.09, 320, 80e-6, -30.0),  # 0.36" beam, 4.0 px/beam
    "c5_b7": ("alma.cycle5.5", 345.0, 0.03, 512, 80e-6, -30.0),  # 0.22" beam, 7.2 px/beam
    "c6_b6": ("alma.cycle5.6", 230.0, 0.04, 512, 47e-6, -30.0),  # 0.19" beam, 4.6 px/beam (CASA's casa_c56)
    "c8_b6": ("alma.cycle5.8", 230.0, 0.01, 512, 46e-6, -30.0),  # 0.065" beam, 6.5 px/beam
    "c4_b6_briggs": ("alma.cycle5.4", 230.0, 0.08, 320, 46e-6, -30.0, 0.5),  # 0.41" beam (robust 0.5), 5.2 px/beam
    "c7_b4_dec-50": ("alma.cycle5.7", 145.0, 0.03, 512, 35e-6, -50.0),  # 0.18" beam, 6 px/beam
}
#: Set-ups outside the shipped model's range (issue 29: what ``adapt`` is for), run only when named.
OFF_GRID = {
    "c4_b6_uniform": ("alma.cycle5.4", 230.0, 0.06, 320, 46e-6, -30.0, "uniform"),  # uniform weighting
    "aca_b6": ("aca.cycle5", 230.0, 0.8, 128, 46e-6, -30.0),  # the 7-m ACA: a 6.6" x 3.9" beam, its own dishes
}
#: Dish diameters (m) other than the 12-m array's: CASA's 7-m model (its effective aperture, as 10.7 m is the 12-m's).
DISH_M = {"aca.cycle5": 6.25}
MF_THRESHOLDS_NOTE = "matched filter thresholds 3-6 sigma in steps of 0.5 (adapt_check.MF_THRESHOLDS)"


def setup_config(name):
    """The set-up's `SimulationConfig`: its array, band, grid, noise, declination and scaled population."""
    array, ghz, pixel, size, noise, dec, *robust = {**SETUPS, **OFF_GRID}[name]
    weights = {} if not robust else {"weighting": "uniform"} if robust[0] == "uniform" else {"weighting": "briggs",
                                                                                          "robust": robust[0]}
    observation = {"array": array, "frequency_ghz": ghz, **weights}
    dish = {"primary_beam": {"dish_diameter_m": DISH_M[array]}} if array in DISH_M else {}
    probe = SimulationConfig.from_dict({"observation": observation,
                                        "image": {"size": 128, "pixel_scale_arcsec": pixel},
                                        "pointing": {"dec_deg": dec, "radius_deg": 0.0}, **dish})  # fmt: skip
    beam = _beam(probe)
    # Within the primary beam's half-power radius as the seed's (13" at 230 GHz, scaled by the wavelength) and
    # within the image: CASA's 12-m primary beam at 100 GHz (shared/reference/casa_b3/pb_000.fits) falls to half
    # at 30.1", and this gives 29.9". Until stop 36 it was 1.13 lambda / D / 2 (32.7" at 100 GHz, 14.2" at
    # 230 GHz), 9 % wider than the seed's own population and CASA's beam.
    # (A 7-m dish's beam is 10.7 / 6.25 times wider: the scaled radius, within 0.45 of the image's width.)
    radius = min(population_radius_arcsec(SimulationConfig(), ghz, 1e9) * 10.7 / DISH_M.get(array, 10.7),
                 0.45 * size * pixel)  # fmt: skip
    return SimulationConfig.from_dict({
        **dish,
        "observation": observation,
        "image": {"size": size, "pixel_scale_arcsec": pixel},
        "noise": {"rms_jy": noise},
        "pointing": {"dec_deg": dec, "radius_deg": 0.0},
        "sources": {"flux_min_jy": 1.1 * noise, "flux_max_jy": 11 * noise, "fwhm_min_arcsec": 0.47 * beam,
                    "fwhm_max_arcsec": 0.94 * beam, "max_radius_arcsec": radius},
    }), beam  # fmt: skip


def _beam(config):
    """Geometric-mean FWHM (arcsec) of the set-up's PSF main lobe."""
    images, _ = validation_set(config, 1, 0, psf=True)
    beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"])
    return float(np.sqrt(beam.major.to_value(u.arcsec) * beam.minor.to_value(u.arcsec)))


def pixel_coverage(results, images, scale=1.0):
    """UNCERTAINTY coverage (%) on source pixels; ``scale`` multiplies the map (a tuned model's
    ``uncertainty_scale``: both of its terms scale, so the map does)."""
    hits = []
    for result, image in zip(results, images):
        if result.uncertainty is None or image["sky"].max() <= 0:
            continue
        source = np.isfinite(image["dirty"]) & (image["sky"] > 0.1 * image["sky"].max())
        hits.extend((np.abs(result.sky - image["sky"]) <= 1.96 * scale * result.uncertainty)[source])
    return 100 * np.mean(hits) if hits else float("nan")


def labelled_reliabilities(catalogs, truth, radius):
    """``(values, labels)``: the reliabilities of every candidate of ``catalogs`` (image -> catalogue) and 1 where
    a true source lies within ``radius`` (one-to-one), else 0."""
    values, labels = [], []
    for i, catalog in catalogs.items():
        true = truth[np.asarray(truth["image"]) == i]
        label = np.zeros(len(catalog))
        if len(catalog) and len(true):
            label[match_sources(catalog, true, radius=radius)[:, 0]] = 1
        values.extend(np.asarray(catalog["reliability"], dtype=float))
        labels.extend(label)
    return np.asarray(values), np.asarray(labels)


#: The tuned rows' labelled reliabilities per prior, over every set-up run (`pooled_reliability`).
POOLED = {}


def reliability_error(everything, truth, radius, *, pool=None):
    """The largest bin error (points) and the chance that a perfectly calibrated model with these bins reaches
    it (`chance_of_error`: the test set's binomial noise alone). With ``pool`` (a key of `POOLED`), the labelled
    reliabilities are also kept there."""
    values, labels = labelled_reliabilities(everything, truth, radius)
    if pool is not None:
        POOLED.setdefault(pool, []).append((values, labels))
    rows = reliability_diagram(values, labels, min_count=20)
    if not rows:
        return float("nan"), float("nan")
    error = max(abs(r["predicted"] - r["observed"]) for r in rows)
    return 100 * error, chance_of_error(rows, error)


def pooled_reliability():
    """Print the reliability diagram of the tuned rows' candidates pooled over the set-ups run, per prior.

    A bin of one set-up's 100 test images holds 20-50 candidates in the middle of the range, whose binomial
    error alone is 6-11 points; pooled over eleven set-ups, a bin holds hundreds."""
    for key, parts in POOLED.items():
        values = np.concatenate([v for v, _ in parts])
        labels = np.concatenate([l for _, l in parts])
        rows = reliability_diagram(values, labels, min_count=20)
        if not rows:
            continue
        error = max(abs(r["predicted"] - r["observed"]) for r in rows)
        print(f"\n{key}: the tuned rows' reliabilities pooled over {len(parts)} set-ups ({len(values)} candidates, "
              f"{int(labels.sum())} real): largest bin error {100 * error:.1f} points "
              f"(p {chance_of_error(rows, error):.2f})")  # fmt: skip
        for r in rows:
            print(f"  [{r['low']:.1f}, {r['high']:.1f}): n = {r['n']:5d}, predicted {r['predicted']:.3f}, "
                  f"observed {r['observed']:.3f}")  # fmt: skip


def print_row(label, catalogs, truth, radii, n, seconds, extra=("-", "-", "-")):
    """One row; ``catalogs`` is one set for both radii, or a pair (at 0.21 beam, at 0.5 beam). Returns the
    per-image counts (`per_image_counts`) at each radius."""
    sets = catalogs if isinstance(catalogs, tuple) else (catalogs, catalogs)
    cells = []
    for radius, chosen in zip(radii, sets):
        s = score_catalogs(chosen, truth, radius=radius, images=range(n))
        cells.append(f"{100 * s.purity:5.1f} {100 * s.completeness:5.1f} {100 * s.f1:5.1f}")
    ferr, pix, rel = (f"{x:6.1f}" if isinstance(x, float) else f"{x:>6s}" for x in extra[:3])
    chance = f"{extra[3]:5.2f}" if len(extra) > 3 else f"{'-':>5s}"
    print(f"  {label:34s} {cells[0]} | {cells[1]} | {ferr} {pix} {rel} {chance} | {seconds:6.2f}", flush=True)
    return tuple(per_image_counts(chosen, truth, n, radius=u.Quantity(radius, u.arcsec).value)
                 for radius, chosen in zip(radii, sets))  # fmt: skip


def f1_of(counts):
    """F1 of per-image ``(matches, detections, true sources)`` counts (`per_image_counts`), summed."""
    matched, detected, true = counts.sum(axis=0)
    return 2 * matched / (detected + true)


def difference_error(counts, reference, trials=2000):
    """The bootstrap standard error (over test images, paired) of F1(``counts``) - F1(``reference``): what the
    test set's draw alone moves a difference by."""
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(counts), size=(trials, len(counts)))
    return float(np.std([f1_of(counts[d]) - f1_of(reference[d]) for d in draws]))


def _cut(scored, settings, base):
    """``scored`` (made with the settings ``base``) under ``settings``' map and flux_err scale (a tuned model's;
    the same otherwise), and its catalogues at the benchmark cut and at the default cut."""
    mapped = {i: c.copy() for i, c in scored.items()}
    for c in mapped.values():
        c["reliability"] = settings.recalibrated(np.asarray(c["reliability"], dtype=float))
        c["flux_err"] = c["flux_err"] * (settings.flux_err_scale / base.flux_err_scale)
    pair = tuple({i: c[np.asarray(c["reliability"]) >= cut] for i, c in mapped.items()}
                 for cut in (settings.benchmark_cut, settings.min_reliability))  # fmt: skip
    return mapped, pair


def user_seconds(reconstructor, images, beam_header, *, source_density=None, count=10):
    """Seconds per image of a user's run (K = 10, the default cut: only the sources kept are measured) on the
    first ``count`` images, after one warm-up run."""
    chosen = images[: max(1, count)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def one(i, image):
            reconstructor.reconstruct((image["dirty"], beam_header(image)), force=True, seed=i,
                                      primary_beam=image["primary_beam"], source_density=source_density)  # fmt: skip

        one(0, chosen[0])
        start = time.perf_counter()
        for i, image in enumerate(chosen):
            one(i, image)
    return (time.perf_counter() - start) / len(chosen)


def _run(reconstructor, images, beam_header, source_density=None):
    everything, results = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, image in enumerate(images):
            result = reconstructor.reconstruct((image["dirty"], beam_header(image)), force=True, seed=i,
                                               primary_beam=image["primary_beam"], min_reliability=0.0,
                                               source_density=source_density)  # fmt: skip
            everything[i] = result.catalog
            results.append(result)
    return everything, results


PRIORS = {"default": "default prior", "told": "told the density"}


def model_rows(label, reconstructor, images, truth, beam_header, radii, n, *, density=None, priors=tuple(PRIORS),
               tune=None):  # fmt: skip
    """The model's row at its default prior and, with ``density`` (the set-up's sources per arcmin^2), the row
    told the density (``source_density``: the reliabilities of a second run); ``priors`` chooses which. With
    ``tune`` (keywords of `tune_to_setup`), after each the model tuned to the set-up with the same prior (the
    default one: the model's population within the set-up's primary beam, as `tune_to_setup` draws it)."""
    settings = reconstructor.settings.detection_for(reconstructor.settings.samples)
    if getattr(reconstructor, "tuning", None) is not None:
        # A tuned checkpoint (an adapt's): its candidates are made without the map, which `_cut` applies once.
        reconstructor = untuned(reconstructor)
    scores, runs = {}, {}

    def run(stated):
        """The candidates (all reliabilities) and results at the prior ``stated``, run once each."""
        if stated not in runs:
            runs[stated] = _run(reconstructor, images, beam_header, stated)
        return runs[stated]

    for key, stated in (("default", None), ("told", density)):
        prior = PRIORS[key]
        if key not in priors or (key == "told" and stated is None):
            continue
        seconds = user_seconds(reconstructor, images, beam_header, source_density=stated)
        rows = [(f"{label}, {prior}", prior, settings, seconds, stated, 1.0)]
        if tune is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tuned = tune_to_setup(reconstructor, source_density=stated, **tune)
            record = tuned.tuning
            print(f"  (tuned on {record['n_images']} simulated images ({record['n_real']} real candidates of "
                  f"{record['n_candidates']}) in {record['seconds']:.0f} s: cuts "
                  f"{record['benchmark_min_reliability']:.2f} / {record['min_reliability']:.2f} against "
                  f"{settings.benchmark_cut:.2f} / {settings.min_reliability:.2f}; prior "
                  f"{record['prior_density']:.3g} per arcmin^2; flux_err x {record['flux_err_scale']:.2f} from "
                  f"{record['flux_matches']} sources, {100 * record['flux_coverage']:.1f} % covered at the model's "
                  f"scale; UNCERTAINTY x {record['uncertainty_scale']:.2f}, "
                  f"{100 * record['uncertainty_coverage']:.1f} +- {100 * record['uncertainty_coverage_error']:.1f} "
                  f"% covered at the model's)", flush=True)  # fmt: skip
            # The tuned model runs at its tuning's prior (the density told, else the set-up's population).
            rows.append((f"{label}, tuned, {prior}", f"tuned, {prior}",
                         tuned.settings.detection_for(reconstructor.settings.samples),
                         seconds + record["seconds"] / n, record["prior_density"], record["uncertainty_scale"]))
        for text, name, chosen, row_seconds, at, scale in rows:
            scored, results = run(at)
            mapped, pair = _cut(scored, chosen, settings)
            extra = (coverage(pair[0], truth, radii[0]), pixel_coverage(results, images, scale),
                     *reliability_error(mapped, truth, radii[1],
                                        pool=f"{label}, {name}" if name.startswith("tuned") else None))  # fmt: skip
            scores[name] = print_row(text, pair, truth, radii, n, row_seconds, extra)
    return scores


def run_setup(name, n, *, adapt_minutes=None, workdir=None, model="two_to_one", priors=tuple(PRIORS), tuned=True):
    config, fwhm = setup_config(name)
    started = time.perf_counter()
    images, truth = validation_set(config, n, TEST_SEED, psf=True)
    for image in images:
        image["frequency_hz"] = config.observation.frequency_ghz * 1e9
    beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"])
    radii = (0.21 * fwhm * u.arcsec, 0.5 * fwhm * u.arcsec)
    typical = 0.5 * (config.sources.fwhm_min_arcsec + config.sources.fwhm_max_arcsec) * u.arcsec
    print(f"\n== {name}: {config.observation.array}, {config.observation.frequency_ghz:g} GHz, dec "
          f"{config.pointing.dec_deg:g}, {config.image.size} x {config.image.pixel_scale_arcsec:g}\" pixels, beam "
          f"{beam.major.to_value(u.arcsec):.3f}\" x {beam.minor.to_value(u.arcsec):.3f}\" "
          f"({fwhm / config.image.pixel_scale_arcsec:.1f} px/beam), noise {1e6 * config.noise.rms_jy:.0f} uJy/beam; "
          f"{n} test images, {len(truth)} sources (simulated in {time.perf_counter() - started:.0f} s)")  # fmt: skip
    print(f"  {'method':34s} {'P':>5s} {'C':>5s} {'F1':>5s} | {'P':>5s} {'C':>5s} {'F1':>5s} | {'ferr%':>6s} "
          f"{'pix%':>6s} {'relE':>6s} {'p':>5s} | {'s/img':>6s}   (0.21 beam | 0.5 beam)")  # fmt: skip
    t0 = time.perf_counter()
    mf = matched_filter_catalogs(images, typical)
    mf_seconds = (time.perf_counter() - t0) / n
    tune_images, tune_truth = validation_set(config, n, CALIBRATION_SEED)
    threshold = best_threshold(matched_filter_catalogs(tune_images, typical), tune_truth, radii[0], n)
    figures = {"mf": print_row(f"matched filter, tuned ({threshold:g} sigma)", mf[threshold], truth, radii, n,
                               mf_seconds)}  # fmt: skip
    shipped = Reconstructor.from_pretrained(model)
    density = config.sources.density_per_arcsec2
    model_density = shipped.card.simulation.sources.density_per_arcsec2
    print(f"  the set-up's {3600 * density:.3g} sources per arcmin^2 against the model's {3600 * model_density:.3g}")
    tune = None
    if tuned:
        # The user's files: one more image of the set-up, as tclean writes it (its header, its primary beam).
        user, _ = validation_set(config, 1, TEST_SEED + 999)
        user[0]["frequency_hz"] = config.observation.frequency_ghz * 1e9
        observation = config.observation
        tune = {"dirty": (user[0]["dirty"], header_of(user[0], beam)), "array": observation.array,
                "primary_beam": (user[0]["primary_beam"], user[0]["wcs"].to_header()),
                "weighting": observation.weighting, "robust": observation.robust,
                "dish_diameter": config.primary_beam.dish_diameter_m * u.m}  # fmt: skip
    figures.update({f"shipped, {k}": v for k, v in model_rows(f"{Path(model).stem} 2-to-1, K = 10", shipped, images,
                                                               truth, lambda image: header_of(image, beam), radii,
                                                               n, density=3600 * density,
                                                               priors=priors, tune=tune).items()})  # fmt: skip
    if adapt_minutes:
        user = Path(workdir) / name
        write_dataset(user, 1, seed=TEST_SEED + 999, config=config, overwrite=True)
        path = Path(workdir) / f"{name}_{adapt_minutes:g}min.pt"
        t0 = time.perf_counter()
        # As a user would: the PSF and, where the weighting is not natural, the noise's texture from the image.
        texture = "psf" if config.observation.weighting == "natural" else "image"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            record = adapt(user / "dirty_00000.fits", path, psf=user / "psf_00000.fits", minutes=adapt_minutes,
                           overwrite=True, noise_texture=texture,
                           dish_diameter=config.primary_beam.dish_diameter_m * u.m)["adapt"]  # fmt: skip
        print(f"  (adapt --minutes {adapt_minutes:g}: {time.perf_counter() - t0:.0f} s; {record['steps']} steps; "
              f"kept the {record['kept']} model: F1 {100 * record['f1_adapted']:.1f} adapted against "
              f"{100 * record['f1_base']:.1f} for the shipped model tuned, on {record['images']} simulated images "
              "of the set-up)", flush=True)  # fmt: skip
        figures.update({f"adapted, {k}": v for k, v in model_rows(f"adapted, {adapt_minutes:g} min",
                                                                   Reconstructor.from_pretrained(path), images,
                                                                   truth, lambda image: header_of(image, beam), radii,
                                                                   n).items()})  # fmt: skip
    pairs = [(key, "mf", "tuned matched filter") for key in figures if key.startswith("shipped, ")]
    pairs += [(key, other, other) for key in figures if key.startswith("adapted, ")
              for other in ("shipped, default prior", "shipped, tuned, default prior") if other in figures]
    for key, other, name in pairs:
        cells = [f"{100 * (f1_of(a) - f1_of(b)):+.1f} +- {100 * difference_error(a, b):.1f}"
                 for a, b in zip(figures[key], figures[other])]  # fmt: skip
        print(f"  {key} - {name}: {cells[0]} F1 points at 0.21 beam, {cells[1]} at 0.5 beam (the error: bootstrap "
              "over the test images, paired)", flush=True)  # fmt: skip
    return figures


def speed(names, n=10):
    """Only the seconds per image of a user's run (`user_seconds`) on ``n`` images of each set-up."""
    shipped = Reconstructor.from_pretrained()
    print(f"{'set-up':14s} {'image':>9s} {'px/beam':>7s} {'s/img':>6s}   (K = 10, default cut, after a warm-up)")
    for name in names:
        config, fwhm = setup_config(name)
        images, _ = validation_set(config, n, TEST_SEED, psf=True)
        for image in images:
            image["frequency_hz"] = config.observation.frequency_ghz * 1e9
        beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"])
        seconds = user_seconds(shipped, images, lambda image: header_of(image, beam), count=n)
        size = config.image.size
        print(f"{name:14s} {size:4d}x{size:<4d} {fwhm / config.image.pixel_scale_arcsec:7.1f} {seconds:6.2f}",
              flush=True)  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default=",".join(SETUPS),
                        help="comma-separated: " + ", ".join(SETUPS) + "; outside the range: " + ", ".join(OFF_GRID))
    parser.add_argument("-n", type=int, default=100, help="test images (and tuning images) per set-up")
    parser.add_argument("--adapt", default="", help="comma-separated set-ups to adapt a model to as well")
    parser.add_argument("--minutes", type=float, default=10.0, help="adapt's --minutes")
    parser.add_argument("--model", default="two_to_one", help="the model to measure (a shipped name or a .pt)")
    parser.add_argument("--priors", default="default,told", help="the model's rows: default prior, told the density")
    parser.add_argument("--no-tune", action="store_true", help="without the row of the model tuned to the set-up")
    parser.add_argument("--speed", action="store_true", help="only the seconds per image of a user's run (on -n)")
    args = parser.parse_args()
    if args.speed:
        return speed([name.strip() for name in args.setups.split(",")], args.n)
    adapted = {s for s in args.adapt.split(",") if s}
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.setups.split(","):
            run_setup(name.strip(), args.n, adapt_minutes=args.minutes if name in adapted else None, workdir=workdir,
                      model=args.model, priors=tuple(p for p in args.priors.split(",") if p), tuned=not args.no_tune)
    pooled_reliability()
    print(f"\ntotal {time.perf_counter() - begin:.0f} s; {MF_THRESHOLDS_NOTE}")


if __name__ == "__main__":
    main()
