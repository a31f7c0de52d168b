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
from astro_i2i.catalog import beta_nodes, monotone_nodes, reliability_diagram  # noqa: E402
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


def _logistic_fit(x, labels):
    """Maximum-likelihood weights of ``P = 1 / (1 + exp(-(x @ w)))`` (x with a column of ones)."""
    from scipy import optimize

    def objective(w):
        s = x @ w
        p = 1 / (1 + np.exp(-s))
        return np.mean(np.logaddexp(0, s) - labels * s), x.T @ (p - labels) / len(labels)

    return optimize.minimize(objective, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x


def map_nodes(values, labels):
    nodes = np.asarray(monotone_nodes(values, labels, min_count=40))
    return lambda r: np.interp(r, *nodes.T)


def map_nodes_logit(values, labels):
    """The same nodes, interpolated in logit-logit (the ends at 1e-4 and 1 - 1e-4)."""
    nodes = np.asarray(monotone_nodes(values, labels, min_count=40))
    x, y = _logit(nodes[:, 0]), _logit(nodes[:, 1])
    return lambda r: 1 / (1 + np.exp(-np.interp(_logit(r), x, y)))


def map_platt(values, labels):
    w = _logistic_fit(np.column_stack([_logit(values), np.ones(len(values))]), labels)
    return lambda r: 1 / (1 + np.exp(-(w[0] * _logit(r) + w[1])))


def map_beta(values, labels):
    """Beta calibration (Kull et al. 2017; `~astro_i2i.catalog.beta_nodes`): logit P = a ln r - b ln(1 - r) + c."""
    nodes = np.asarray(beta_nodes(values, labels))
    return lambda r: np.interp(r, *nodes.T)


MAPS = {"nodes (now)": map_nodes, "nodes, logit": map_nodes_logit, "platt": map_platt, "beta": map_beta}


def score(mapping, data):
    test = mapping(data["test_values"])
    rows = reliability_diagram(test, data["test_label"], min_count=20)
    if not rows:
        return float("nan"), float("nan"), float("nan"), float("nan"), {"low": 0, "high": 0, "n": 0,
                                                                        "predicted": 0, "observed": 0}
    error = max(abs(r["predicted"] - r["observed"]) for r in rows)
    # the cut: the best expected F1 at the benchmark radius under a map of the same kind, on the tuning
    tune_mapped = mapping(data["tune_values"])
    expected = MAP_OF_KIND(data["tune_values"], data["tune_benchmark"])(data["tune_values"])
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2)
    n_true = int(data["tune_n_true"])
    scores = [2 * expected[tune_mapped >= c].sum() / ((tune_mapped >= c).sum() + n_true) for c in grid]
    cut = grid[int(np.argmax(scores))]
    chosen = test >= cut
    tp = data["test_benchmark"][chosen].sum()
    f1 = 2 * tp / (chosen.sum() + int(data["test_n_true"]))
    worst = max(rows, key=lambda r: abs(r["predicted"] - r["observed"]))
    return 100 * error, chance_of_error(rows, error), 100 * f1, cut, worst


def main():
    global MAP_OF_KIND
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default=",".join(setups.SETUPS))
    parser.add_argument("-n", type=int, default=100, help="test images")
    parser.add_argument("--cache", default="reliability_maps_cache", help="folder of the candidates")
    parser.add_argument("--tune-images", type=int, default=40, help="tune_to_setup's n_images")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{'set-up':14s} {'prior':8s} {'map':14s} {'relE':>6s} {'p':>5s} {'F1':>5s} {'cut':>5s}   worst bin")
    for name in args.setups.split(","):
        data = collect(name.strip(), args.n, cache, args.tune_images)
        for prior, values in data.items():
            for label, kind in MAPS.items():
                MAP_OF_KIND = kind
                error, p, f1, cut, worst = score(kind(values["tune_values"], values["tune_label"]), values)
                print(f"{name:14s} {prior:8s} {label:14s} {error:6.1f} {p:5.2f} {f1:5.1f} {cut:5.2f}   "
                      f"[{worst['low']:.1f}, {worst['high']:.1f}) n {worst['n']} predicted {worst['predicted']:.3f} "
                      f"observed {worst['observed']:.3f}", flush=True)  # fmt: skip


MAP_OF_KIND = map_nodes

if __name__ == "__main__":
    main()
