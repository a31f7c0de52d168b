"""Reference points on freshly simulated images: catalogue of the true sky, and CLEAN + catalogue.

Usage: python benchmarks/baselines.py [N] [SEED]   (default 200 images, seed 9000)

Images are simulated in memory exactly as ``astro-i2i simulate`` writes them
(``numpy.random.default_rng([SEED, i])``, ducc0 gridding). CLEAN is radler
multiscale, stopped at 3 sigma, restored with the fitted beam; sources are
detected at 5 sigma on the restored image and their fluxes corrected by the
primary beam. Both catalogues are scored against the truth (0.18" matching).
"""

import sys
import time

import numpy as np
from astropy import units as u
from astropy.table import Table

from astro_i2i.baselines import clean_catalog, true_sky_catalog
from astro_i2i.io import fit_psf_beam
from astro_i2i.metrics import score_catalogs
from astro_i2i.simulate import SimulationConfig, simulate_image, truth_rows

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
config = SimulationConfig()
truth_columns, true_sky, cleaned = {}, {}, {}
times = {"simulate": 0.0, "true sky": 0.0, "clean": 0.0}
for i in range(n):
    start = time.perf_counter()
    result = simulate_image(config, np.random.default_rng([seed, i]))
    times["simulate"] += time.perf_counter() - start
    for key, values in truth_rows(i, result["sources"], result["wcs"], config).items():
        truth_columns.setdefault(key, []).append(values)
    start = time.perf_counter()
    true_sky[i] = true_sky_catalog(result["sky"], result["wcs"])
    times["true sky"] += time.perf_counter() - start
    start = time.perf_counter()
    beam = fit_psf_beam(result["psf"], result["wcs"])
    cleaned[i], _ = clean_catalog(result["dirty"], result["psf"], beam, result["wcs"],
                                  pixel_scale=config.image.pixel_scale_arcsec * u.arcsec,
                                  primary_beam=result["primary_beam"])  # fmt: skip
    times["clean"] += time.perf_counter() - start
truth = Table({key: np.concatenate(values) for key, values in truth_columns.items()})

print(f"{n} simulated images (seed {seed}), {len(truth)} true sources, "
      f"{sum(1 for i in range(n) if not np.any(truth['image'] == i))} empty fields")
for label, detections in (("true sky + catalogue (photutils)", true_sky), ("CLEAN (radler) + catalogue", cleaned)):
    print(f"\n== {label}")
    for line in score_catalogs(detections, truth).summary_lines(n):
        print(line)
print("\ntime per image: " + ", ".join(f"{k} {v / n * 1e3:.0f} ms" for k, v in times.items()))
