"""Sources beyond the training population's disc: does a model catalogue them as the matched filter does?

Usage: python benchmarks/studies/outer_sources.py [N] [SEED] [--model two_to_one] [--samples 10] [--max-radius 18.5]

The shipped models were trained, calibrated and scored on simulated fields whose sources lie within 13" of the
pointing centre (``sources.max_radius_arcsec``, the primary beam's half-power radius), while the image reaches
the primary beam's 0.2 level (18.8"). ``benchmarks/studies/bayes_detector.py`` shows that knowing this is worth about
a point of F1 on such fields, and that the 2-to-1 network has learnt it. A user's field has sources everywhere:
this script simulates N images (seed SEED) with sources uniform out to ``--max-radius`` and prints the fraction
of true sources that each catalogue finds within 0.5" (to count finding, not placing), by distance from the
centre and for all fluxes and flux >= 5 x 50 uJy: the matched filter at 4 sigma
(`astro_i2i.baselines.matched_filter_catalog`), and the model's catalogue at its calibrated operating point.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from astro_i2i.baselines import matched_filter_catalog
from astro_i2i.metrics import match_sources
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import SimulationConfig
from astro_i2i.simulate import validation_set

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import OTHER_SEED, header_of

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=250)
parser.add_argument("seed", nargs="?", type=int, default=OTHER_SEED)
parser.add_argument("--model", default="two_to_one")
parser.add_argument("--samples", type=int, default=10)
parser.add_argument("--max-radius", type=float, default=18.5, help="sources uniform within this radius (arcsec)")
args = parser.parse_args()

RADIUS_BINS = ((0.0, 13.0), (13.0, 16.0), (16.0, args.max_radius + 1e-6))
start = time.perf_counter()
config = SimulationConfig.from_dict({"sources": {"max_radius_arcsec": args.max_radius}})
images, truth = validation_set(config, args.n, args.seed)
reconstructor = Reconstructor.from_pretrained(args.model)
centre = config.image.size / 2
radius = np.hypot(np.asarray(truth["x"]) - centre, np.asarray(truth["y"]) - centre) * config.image.pixel_scale_arcsec
bright = np.asarray(truth["snr"]) >= 5
found = {"mf": np.zeros(len(truth), bool), "model": np.zeros(len(truth), bool)}
detections = {"mf": [], "model": []}  # (distance from the centre, matched) of every detection
image_of = np.asarray(truth["image"])
for i, image in enumerate(images):
    rows = np.flatnonzero(image_of == i)
    result = reconstructor.reconstruct((image["dirty"], header_of(image, reconstructor.beam)), samples=args.samples,
                                       seed=i, primary_beam=image["primary_beam"])  # fmt: skip
    mf = matched_filter_catalog(image["dirty"], image["wcs"], beam=reconstructor.beam, nsigma=4.0,
                                primary_beam=image["primary_beam"])  # fmt: skip
    for key, catalog in (("mf", mf), ("model", result.catalog)):
        if not len(catalog):
            continue
        coords = SkyCoord(np.asarray(catalog["ra"]) * u.deg, np.asarray(catalog["dec"]) * u.deg)
        x, y = image["wcs"].world_to_pixel(coords)
        matched = np.zeros(len(catalog), bool)
        if len(rows):
            pairs = match_sources(catalog, truth[rows], radius=0.5 * u.arcsec)
            found[key][rows[pairs[:, 1]]] = True
            matched[pairs[:, 0]] = True
        distance = np.hypot(np.atleast_1d(x) - centre, np.atleast_1d(y) - centre) * config.image.pixel_scale_arcsec
        detections[key].extend(zip(distance, matched))

print(f"{args.n} images (seed {args.seed}), {len(truth)} sources uniform within {args.max_radius}\"; "
      f"{args.model} K = {args.samples}; {time.perf_counter() - start:.0f} s")  # fmt: skip
name = Path(args.model).stem
print("  found within 0.5\" (%), and the fraction of the detections there that are real (%), by distance:")
print(f"  {'distance from the centre':24s} {'sources':>7s} {'MF':>5s} {name:>10s}   {'>= 250 uJy':>10s} {'MF':>5s} "
      f"{name:>10s}   {'real: MF':>8s} {name:>10s}")  # fmt: skip
for low, high in RADIUS_BINS:
    inside = (radius >= low) & (radius < high)
    sel = inside & bright
    cells = [f"{inside.sum():7d} {100 * found['mf'][inside].mean():5.1f} {100 * found['model'][inside].mean():10.1f}",
             f"{sel.sum():10d} {100 * found['mf'][sel].mean():5.1f} {100 * found['model'][sel].mean():10.1f}"]
    purity = []
    for key in ("mf", "model"):
        d = np.asarray(detections[key], dtype=float).reshape(-1, 2)
        there = (d[:, 0] >= low) & (d[:, 0] < high)
        purity.append(f"{100 * d[there, 1].mean():.1f} of {there.sum()}" if there.any() else "none")
    print(f"  {f'{low:.0f}-{high:.1f} arcsec':24s} {cells[0]}   {cells[1]}   {purity[0]:>8s} {purity[1]:>10s}")
