"""Where a tuned model's reliability error sits on a set-up: its reliability diagram, untuned and tuned (#29).

On ``benchmarks/setups.py``'s test images of one set-up, told the density: the shipped model's candidates
(``min_reliability=0``, K = 10) with their labels (a true source within half a beam), the diagram of their
reliabilities as they are and under the map of the model tuned to the set-up (`tune_to_setup`, told the same
density), and the map's nodes.

Measured (``python benchmarks/studies/reliability_bins.py c8_b6``, 2-core CPU, about 2 minutes): of C43-8's
3008 candidates, 2726 are mapped below 0.1 (0.9 % predicted, 0.8 % real) and 83 above 0.9 (98 %, 100 %);
the 72 mapped to 0.2-0.4 are 9-11 % real against 24-34 % predicted. The map's nodes go from 0.035 at a raw
0.17 to 0.33 at 0.42 and 0.94 at 0.92: its 40 tuning images (1525 candidates, 112 sources) hold few
candidates between. Recorded in ``docs/adapt.rst`` ("Tuning the catalogue to your set-up").

Usage::

    python benchmarks/studies/reliability_bins.py c8_b6 [-n 100]
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import setups  # noqa: E402
from _common import TEST_SEED, header_of  # noqa: E402

from astro_i2i import Reconstructor  # noqa: E402
from astro_i2i.catalog import reliability_diagram  # noqa: E402
from astro_i2i.io import fit_psf_beam  # noqa: E402
from astro_i2i.simulate import validation_set  # noqa: E402
from astro_i2i.training import tune_to_setup  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setup", help="a set-up of benchmarks/setups.py: " + ", ".join(setups.SETUPS))
    parser.add_argument("-n", type=int, default=100, help="test images")
    args = parser.parse_args()
    config, fwhm = setups.setup_config(args.setup)
    images, truth = validation_set(config, args.n, TEST_SEED, psf=True)
    for image in images:
        image["frequency_hz"] = config.observation.frequency_ghz * 1e9
    beam = fit_psf_beam(images[0]["psf"], images[0]["wcs"])
    shipped = Reconstructor.from_pretrained()
    density = 3600 * config.sources.density_per_arcsec2
    user, _ = validation_set(config, 1, TEST_SEED + 999)  # the user's image, as setups.py draws it
    user[0]["frequency_hz"] = config.observation.frequency_ghz * 1e9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuned = tune_to_setup(shipped, (user[0]["dirty"], header_of(user[0], beam)), array=config.observation.array,
                              primary_beam=(user[0]["primary_beam"], user[0]["wcs"].to_header()),
                              weighting=config.observation.weighting, robust=config.observation.robust,
                              source_density=density)  # fmt: skip
    scored, _ = setups._run(shipped, images, lambda image: header_of(image, beam), density)
    settings = tuned.settings.detection_for(shipped.settings.samples)
    mapped, _ = setups._cut(scored, settings, shipped.settings.detection_for(shipped.settings.samples))
    radius = 0.5 * fwhm * u.arcsec
    for label, catalogs in (("as it is", scored), ("tuned", mapped)):
        values, labels = setups.labelled_reliabilities(catalogs, truth, radius)
        print(f"{label}: {len(values)} candidates, {int(labels.sum())} real (a true source within half a beam)")
        for row in reliability_diagram(values, labels, min_count=20):
            print(f"  [{row['low']:.2f}, {row['high']:.2f}): n = {row['n']:4d}, predicted {row['predicted']:.3f}, "
                  f"observed {row['observed']:.3f}")  # fmt: skip
    print("the map's nodes (raw, mapped):", np.round(np.asarray(settings.setup_recalibration), 3).tolist())
    print("the tuning:", {key: tuned.tuning[key] for key in ("n_images", "n_true", "n_candidates")})


if __name__ == "__main__":
    main()
