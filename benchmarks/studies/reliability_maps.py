"""Which map of the reliability onto a set-up calibrates it on the set-up's test images (#29).

`~astro_i2i.training.tune_to_setup` fits a monotone map of the model's reliability onto the fraction of real
candidates on simulated images of the user's set-up. This study keeps, per set-up of ``benchmarks/setups.py`` and
per prior (the tuning's default, told the density), the tuning's candidates (their reliabilities and labels, as
`tune_to_setup` fits them) and the test images' (the shipped model, K = 10, ``min_reliability=0``, at the same
prior; labelled real where a true source lies within half a beam, one-to-one), and scores maps fitted on the first
on the second: the largest bin error of the reliability diagram (bins of >= 20, as ``setups.py``) with the chance
that a calibrated model shows it on the same bins, and the F1 at the benchmark's cut (0.21 beam) that the map's
expected-F1 cut gives.

The candidates are cached (``--cache``), so that maps are compared again in seconds.

Measured (stop 37, 2-core CPU, 100 test images per set-up, 40 tuning images; ``python
benchmarks/studies/reliability_maps.py --setups c8_b6,c6_b6,c2_b3_dec+20,c5_b7,c4_b6_briggs,c4_b7,c1_b6``, about
35 minutes, then seconds from the cache), the largest bin error (p), default prior / told the density:

=================  ===========================  ===========================
set-up             pooled bins (``monotone``)   beta calibration (adopted)
=================  ===========================  ===========================
C43-8, B6          12.0 (.12) / 23.6 (.00)      7.6 (.43) / 10.9 (.24)
C43-6, B6          17.0 (.06) / 15.7 (.04)      6.2 (.59) / 17.4 (.04)
C43-2, B3, +20     35.7 (.00) / 25.3 (.03)      13.8 (.27) / 2.5 (.93)
C43-5, B7          20.2 (.05) / 8.1 (.36)       14.8 (.13) / 9.7 (.04)
C43-4, B6, Briggs  12.5 (.16) / 13.5 (.20)      15.3 (.10) / 8.4 (.34)
C43-4, B7          9.0 (.07) / 3.2 (.93)        4.4 (.76) / 1.5 (.99)
C43-1, B6          20.0 (.06) / 12.5 (.07)      9.5 (.44) / 24.9 (.03)
=================  ===========================  ===========================

- Within 10 points: 3 of 14 rows with the bins, 8 of 14 with the beta map; its mean log-loss is lower on 12 of
  the 14 rows. The F1 at the tuned cut moved by -0.9 to +1.1 (Briggs told: 33.2 to 32.3; C43-5
  default: 38.8 to 39.9).
- Pooled over the 14 rows (45 637 test candidates), the bins' largest error is 11.2 points (p 0.01), the beta
  map's 7.3 (p 0.26); Platt's two-parameter logistic 8.5, the bins' nodes interpolated in the logit 8.8.
- A bin of one set-up's test images in the middle of the range holds 20-50 candidates, whose binomial error alone
  is 6-11 points: C43-1's told row has 0 real of 26 in its 0.2-0.3 bin under either map, which the tuning's 200
  images (241 real candidates) put at 16-31 % real. Per set-up, the test set itself is too small to tell 10
  points apart; the pooled diagram is (``benchmarks/setups.py`` prints it).
- 160 tuning images instead of 40 (``--tune-images 160``) did not bring C43-6 or C43-8 closer (beta: 6.6 / 17.7
  and 12.7 / 13.8 against 6.2 / 17.4 and 7.6 / 10.9): their tunings' maps agree with each other, and what is left
  is the test images' noise.

Usage::

    python benchmarks/studies/reliability_maps.py --setups c8_b6,c6_b6 --cache /tmp/relmaps [-n 100] [--tune-images 40]
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import setups  # noqa: E402
from _common import TEST_SEED, chance_of_error, header_of  # noqa: E402

from astro_i2i import Reconstructor  # noqa: E402
from astro_i2i.catalog import ReliabilityModel, beta_nodes, monotone_nodes, reliability_diagram  # noqa: E402
from astro_i2i.io import fit_psf_beam  # noqa: E402
from astro_i2i.simulate import validation_set  # noqa: E402
from astro_i2i.training import tune as tune_module  # noqa: E402
from astro_i2i.training import tune_to_setup  # noqa: E402


def collect(name, n, cache, tune_images=40):
    """The tuning's and the test images' candidates of ``name`` at both priors (cached in ``cache``: the tuning's
    per number of tuning images, the test images' once)."""
    out = {}
    files = {prior: (cache / f"{name}_{prior}_tune{tune_images}.npz", cache / f"{name}_{prior}_test.npz")
             for prior in ("default", "told")}  # fmt: skip
    missing = [prior for prior, pair in files.items() if not all(path.is_file() for path in pair)]
    if missing:
        config, fwhm = setups.setup_config(name)
        images, truth = validation_set(config, n, TEST_SEED, psf=True)
        for image in images:
            image["frequency_hz"] = config.observation.frequency_ghz * 1e9
        beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"])
        shipped = Reconstructor.from_pretrained()
        user, _ = validation_set(config, 1, TEST_SEED + 999)
        user[0]["frequency_hz"] = config.observation.frequency_ghz * 1e9
        observation = config.observation
        captured = {}
        original = tune_module._fit

        def spy(values, labels, n_true, fluxes, settings):
            captured.update(values=np.asarray(values), label=np.asarray(labels["label"]),
                            benchmark=np.asarray(labels["benchmark"]), n_true=n_true)  # fmt: skip
            return original(values, labels, n_true, fluxes, settings)

        for prior in missing:
            stated = 3600 * config.sources.density_per_arcsec2 if prior == "told" else None
            tune_file, test_file = files[prior]
            if not tune_file.is_file():
                tune_module._fit = spy
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        tuned = tune_to_setup(shipped, (user[0]["dirty"], header_of(user[0], beam)),
                                              array=observation.array,
                                              primary_beam=(user[0]["primary_beam"], user[0]["wcs"].to_header()),
                                              weighting=observation.weighting, robust=observation.robust,
                                              source_density=stated, n_images=tune_images)  # fmt: skip
                finally:
                    tune_module._fit = original
                np.savez(tune_file, tune_values=captured["values"], tune_label=captured["label"],
                         tune_benchmark=captured["benchmark"], tune_n_true=captured["n_true"],
                         prior_density=tuned.tuning["prior_density"])  # fmt: skip
            if not test_file.is_file():
                with np.load(tune_file) as data:
                    density = float(data["prior_density"])
                scored, _ = setups._run(shipped, images, lambda image: header_of(image, beam), density)
                values, labels = setups.labelled_reliabilities(scored, truth, 0.5 * fwhm * u.arcsec)
                _, bench = setups.labelled_reliabilities(scored, truth, 0.21 * fwhm * u.arcsec)
                np.savez(test_file, test_values=values, test_label=labels, test_benchmark=bench,
                         test_n_true=len(truth), prior_density=density)  # fmt: skip
    for prior, pair in files.items():
        out[prior] = {}
        for path in pair:
            with np.load(path) as data:
                out[prior].update({key: data[key] for key in data.files if key != "prior_density"})
    return out


def _logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def map_nodes(values, labels):
    nodes = np.asarray(monotone_nodes(values, labels, min_count=40))
    return lambda r: np.interp(r, *nodes.T)


def map_nodes_logit(values, labels):
    """The same nodes, interpolated in logit-logit (the ends at 1e-4 and 1 - 1e-4)."""
    nodes = np.asarray(monotone_nodes(values, labels, min_count=40))
    x, y = _logit(nodes[:, 0]), _logit(nodes[:, 1])
    return lambda r: 1 / (1 + np.exp(-np.interp(_logit(r), x, y)))


def map_platt(values, labels):
    """Platt's logistic in the logit of the reliability: logit P = a logit r + c."""
    model = ReliabilityModel.fit({"logit": _logit(values)}, labels, names=("logit",), l2=0.0)
    return lambda r: model.predict({"logit": _logit(r)})


def map_beta(values, labels):
    """Beta calibration (Kull et al. 2017; `~astro_i2i.catalog.beta_nodes`): logit P = a ln r - b ln(1 - r) + c."""
    nodes = np.asarray(beta_nodes(values, labels))
    return lambda r: np.interp(r, *nodes.T)


MAPS = {"nodes (now)": map_nodes, "nodes, logit": map_nodes_logit, "platt": map_platt, "beta": map_beta}


def score(kind, data):
    """The map of ``kind`` fitted on the tuning's candidates, scored on the test images'; and the mapped test
    reliabilities."""
    mapping = kind(data["tune_values"], data["tune_label"])
    test = mapping(data["test_values"])
    rows = reliability_diagram(test, data["test_label"], min_count=20)
    if not rows:
        return float("nan"), float("nan"), float("nan"), float("nan"), {"low": 0, "high": 0, "n": 0,
                                                                        "predicted": 0, "observed": 0}, test
    error = max(abs(r["predicted"] - r["observed"]) for r in rows)
    # the cut: the best expected F1 at the benchmark radius under a map of the same kind, on the tuning (as
    # `tune_to_setup` chooses it)
    tune_mapped = mapping(data["tune_values"])
    expected = kind(data["tune_values"], data["tune_benchmark"])(data["tune_values"])
    n_true = int(data["tune_n_true"])
    scores = [tune_module._expected_f1(tune_mapped >= cut, expected, n_true) for cut in tune_module._GRID]
    cut = tune_module._GRID[int(np.argmax(scores))]
    chosen = test >= cut
    tp = data["test_benchmark"][chosen].sum()
    f1 = 2 * tp / (chosen.sum() + int(data["test_n_true"]))
    worst = max(rows, key=lambda r: abs(r["predicted"] - r["observed"]))
    return 100 * error, chance_of_error(rows, error), 100 * f1, cut, worst, test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default=",".join(setups.SETUPS))
    parser.add_argument("-n", type=int, default=100, help="test images")
    parser.add_argument("--cache", default="reliability_maps_cache", help="folder of the candidates")
    parser.add_argument("--tune-images", type=int, default=40, help="tune_to_setup's n_images")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{'set-up':14s} {'prior':8s} {'map':14s} {'relE':>6s} {'p':>5s} {'F1':>5s} {'cut':>5s}   worst bin")
    pooled = {label: [] for label in MAPS}
    for name in args.setups.split(","):
        data = collect(name.strip(), args.n, cache, args.tune_images)
        for prior, values in data.items():
            for label, kind in MAPS.items():
                error, p, f1, cut, worst, mapped = score(kind, values)
                pooled[label].append((mapped, values["test_label"]))
                print(f"{name:14s} {prior:8s} {label:14s} {error:6.1f} {p:5.2f} {f1:5.1f} {cut:5.2f}   "
                      f"[{worst['low']:.1f}, {worst['high']:.1f}) n {worst['n']} predicted {worst['predicted']:.3f} "
                      f"observed {worst['observed']:.3f}", flush=True)  # fmt: skip
    print(f"\npooled over the {len(pooled['beta'])} rows: largest bin error (p), mean log-loss (x 1000)")
    for label, parts in pooled.items():
        mapped = np.clip(np.concatenate([m for m, _ in parts]), 1e-4, 1 - 1e-4)
        labels = np.concatenate([l for _, l in parts])
        rows = reliability_diagram(mapped, labels, min_count=20)
        error = max(abs(r["predicted"] - r["observed"]) for r in rows)
        loss = -np.mean(labels * np.log(mapped) + (1 - labels) * np.log(1 - mapped))
        print(f"  {label:14s} {100 * error:5.1f} ({chance_of_error(rows, error):.2f}), {1000 * loss:.1f}: "
              + ", ".join(f"{r['predicted']:.2f}/{r['observed']:.2f}" for r in rows))  # fmt: skip


if __name__ == "__main__":
    main()
