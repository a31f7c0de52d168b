"""Is the gap to the tuned matched filter on the high-resolution set-ups the ranking or the cut? (#29)

For each set-up of ``benchmarks/setups.py`` and each model, the model's candidates (``min_reliability=0``,
K = 10, the density told) are saved with their labels at 0.21 beam; printed: F1 at the model's own cut, the
best F1 over every cut on the same test images (an upper bound, not a result), and the tuned matched filter.

Usage::

    python benchmarks/studies/operating_point.py --setups c6_b6,c8_b6 --models two_to_one,x.pt -n 60 --out op/
"""

import argparse
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import TEST_SEED, header_of  # noqa: E402
from adapt_check import best_threshold, matched_filter_catalogs  # noqa: E402
from setups import setup_config  # noqa: E402

from astro_i2i import Reconstructor  # noqa: E402
from astro_i2i.io import fit_psf_beam  # noqa: E402
from astro_i2i.metrics import score_catalogs  # noqa: E402
from astro_i2i.simulate import validation_set  # noqa: E402
from astro_i2i.training import CALIBRATION_SEED  # noqa: E402

CUTS = np.round(np.arange(0.02, 0.9, 0.01), 2)


def f1_at(catalogs, truth, radius, n, cut):
    kept = {i: c[np.asarray(c["reliability"]) >= cut] for i, c in catalogs.items()}
    return score_catalogs(kept, truth, radius=radius, images=range(n)).f1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--setups", required=True)
    parser.add_argument("--models", default="two_to_one")
    parser.add_argument("-n", type=int, default=60)
    parser.add_argument("--out", default="op")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    for name in args.setups.split(","):
        config, fwhm = setup_config(name)
        images, truth = validation_set(config, args.n, TEST_SEED, psf=True)
        for image in images:
            image["frequency_hz"] = config.observation.frequency_ghz * 1e9
        beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"])
        radius = 0.21 * fwhm * u.arcsec
        typical = 0.5 * (config.sources.fwhm_min_arcsec + config.sources.fwhm_max_arcsec) * u.arcsec
        mf = matched_filter_catalogs(images, typical)
        tune_images, tune_truth = validation_set(config, args.n, CALIBRATION_SEED)
        tuned = best_threshold(matched_filter_catalogs(tune_images, typical), tune_truth, radius, args.n)
        mf_f1 = score_catalogs(mf[tuned], truth, radius=radius, images=range(args.n)).f1
        mf_best = max(score_catalogs(mf[t], truth, radius=radius, images=range(args.n)).f1 for t in mf)
        print(f"== {name}: MF tuned {100 * mf_f1:.1f}, MF best on test {100 * mf_best:.1f}", flush=True)
        density = 3600 * config.sources.density_per_arcsec2
        for model in args.models.split(","):
            rec = Reconstructor.from_pretrained(model)
            cut = rec.settings.detection_for(rec.settings.samples).min_reliability
            catalogs = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i, image in enumerate(images):
                    catalogs[i] = rec.reconstruct((image["dirty"], header_of(image, beam)), force=True, seed=i,
                                                  primary_beam=image["primary_beam"], min_reliability=0.0,
                                                  source_density=density).catalog
            f1s = [f1_at(catalogs, truth, radius, args.n, c) for c in CUTS]
            best = int(np.argmax(f1s))
            print(f"  {Path(model).stem:22s} own cut {cut:.2f}: F1 {100 * f1_at(catalogs, truth, radius, args.n, cut):.1f};"
                  f" best cut {CUTS[best]:.2f}: F1 {100 * f1s[best]:.1f}", flush=True)
            with open(out / f"{name}_{Path(model).stem}.pkl", "wb") as f:
                pickle.dump({"catalogs": {i: c.as_array() if hasattr(c, "as_array") else c for i, c in catalogs.items()},
                             "truth": truth, "radius": radius, "n": args.n, "cut": cut, "mf": (mf_f1, mf_best),
                             "density": density}, f)


if __name__ == "__main__":
    main()
