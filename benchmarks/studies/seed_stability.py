"""How much the K-sample catalogue depends on the samples' random seed (issue 11, "Where it stands").

Usage: python benchmarks/studies/seed_stability.py [N] [SEED] [--model two_to_one] [--samples 10] [--seeds 5]
                                                   [--casa DIR] [--casa-seeds 10]

Before issue 11 the K = 10 catalogue's detections were peaks of the mean sky
of 10 style samples, and two runs with different seeds on 72 CASA-made images
gave F1 32.7 and 36.0. This script runs the model on the same N simulated test
images (seed SEED) with ``--seeds`` different sample seeds (image i, run s:
seed = 1000 s + i) and prints, at the model's calibrated cut:

- F1 at 0.18" of each run, their range and standard deviation, against the
  spread expected from the images alone (bootstrap over images of one run);
- how stable each detection is: the fraction of one run's detections found
  (within 0.1") in every other run, and the median and 95th percentile of the
  change of a candidate's reliability between two runs (all candidates);
- the same F1 range on the CASA-made reference images (``--casa``, a check:
  12 images), over ``--casa-seeds`` seeds.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u

from astro_i2i.metrics import match_sources, score_catalogs
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import SimulationConfig
from astro_i2i.simulate import validation_set

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import TEST_SEED, header_of, per_image_counts, read_casa_reference

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=300)
parser.add_argument("seed", nargs="?", type=int, default=TEST_SEED)
parser.add_argument("--model", default="two_to_one")
parser.add_argument("--samples", type=int, default=10)
parser.add_argument("--seeds", type=int, default=5)
parser.add_argument("--casa", default="../../shared/reference/casa", help="CASA-made images (skipped if absent)")
parser.add_argument("--casa-seeds", type=int, default=10)
args = parser.parse_args()

SAME = 0.1 * u.arcsec  # one detection in two runs
start = time.perf_counter()
images, truth = validation_set(SimulationConfig(), args.n, args.seed)
reconstructor = Reconstructor.from_pretrained(args.model)
cut = reconstructor.settings.detection_for(args.samples).min_reliability


runs = []  # runs[s][i] = every candidate (min_reliability 0) of image i with seed 1000 s + i
for s in range(args.seeds):
    runs.append([reconstructor.reconstruct((image["dirty"], header_of(image, reconstructor.beam)),
                                           samples=args.samples, seed=1000 * s + i,
                                           primary_beam=image["primary_beam"], min_reliability=0.0).catalog
                 for i, image in enumerate(images)])  # fmt: skip
elapsed = time.perf_counter() - start
print(f"{args.n} test images (seed {args.seed}), {len(truth)} sources; {args.model} K = {args.samples} at its cut "
      f"(reliability >= {cut:g}), {args.seeds} sample seeds; {elapsed:.0f} s")  # fmt: skip

f1s = []
for run in runs:
    chosen = {i: c[np.asarray(c["reliability"]) >= cut] for i, c in enumerate(run)}
    f1s.append(100 * score_catalogs(chosen, truth, images=range(args.n)).f1)
# The spread from the images alone: bootstrap the images of the first run (per-image counts summed).
first = {i: c[np.asarray(c["reliability"]) >= cut] for i, c in enumerate(runs[0])}
counts = per_image_counts(first, truth, args.n)
rng = np.random.default_rng(0)
image_f1 = []
for _ in range(1000):
    n_matched, n_detected, n_true = counts[rng.integers(0, args.n, args.n)].sum(axis=0)
    image_f1.append(200 * n_matched / (n_true + n_detected))
print(f"  F1 at 0.18\" per seed: {' '.join(f'{f:.1f}' for f in f1s)}; range {min(f1s):.1f}-{max(f1s):.1f}, "
      f"std {np.std(f1s, ddof=1):.2f} (over the images, one seed: std {np.std(image_f1, ddof=1):.2f})")  # fmt: skip

kept, delta = [], []
for s in range(args.seeds):
    for i in range(args.n):
        mine = runs[s][i]
        chosen = mine[np.asarray(mine["reliability"]) >= cut]
        if len(chosen):
            everywhere = np.ones(len(chosen), bool)
            for t in range(args.seeds):
                if t == s:
                    continue
                other = runs[t][i]
                pairs = match_sources(chosen, other[np.asarray(other["reliability"]) >= cut], radius=SAME)
                found = np.zeros(len(chosen), bool)
                found[pairs[:, 0]] = True
                everywhere &= found
            kept.extend(everywhere)
        if s + 1 < args.seeds:
            other = runs[s + 1][i]
            pairs = match_sources(mine, other, radius=SAME)
            delta.extend(np.abs(np.asarray(mine["reliability"])[pairs[:, 0]] -
                                np.asarray(other["reliability"])[pairs[:, 1]]))  # fmt: skip
delta = np.asarray(delta)
print(f"  detections found in every other run: {100 * np.mean(kept):.1f} % of {len(kept)}; "
      f"|change of reliability| between two runs: median {np.median(delta):.3f}, "
      f"95th percentile {np.quantile(delta, 0.95):.3f} ({len(delta)} candidates)")  # fmt: skip

folder = Path(args.casa)
if (folder / "truth.ecsv").exists():
    casa_truth, names, pb = read_casa_reference(folder)
    casa_f1 = []
    for s in range(args.casa_seeds):
        catalogs = {}
        for name in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                catalogs[int(name)] = reconstructor.reconstruct(folder / f"dirty_{name}.fits", samples=args.samples,
                                                                seed=s, primary_beam=pb).catalog  # fmt: skip
        casa_f1.append(100 * score_catalogs(catalogs, casa_truth, radius=0.18 * u.arcsec).f1)
    print(f"  CASA-made images ({len(names)}, {len(casa_truth)} sources), F1 at 0.18\" over seeds 0-"
          f"{args.casa_seeds - 1}: {' '.join(f'{f:.1f}' for f in casa_f1)}; range {min(casa_f1):.1f}-"
          f"{max(casa_f1):.1f}")  # fmt: skip
print(f"total {time.perf_counter() - start:.0f} s")
