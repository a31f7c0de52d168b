"""Where the positions should come from: the network's grid, a finer grid, or the dirty image (issue 11, item 1).

Usage: python benchmarks/studies/position_options.py [N] [SEED] --model LABEL=PATH[:K] [--model ...]

For each model (a checkpoint, with its training-time sky-model threshold
``candidate_nsigma``, e.g. the 0.1.0 checkpoints that carry ``detection_nsigma``)
the same detections (photutils segments of the reconstructed sky above
`~astro_i2i.catalog.sky_model_threshold`) are placed two ways:

- ``segment``: the flux-weighted centroid of the segment in the sky model;
- ``refined``: moved to the dirty image's matched-filter peak within 0.2"
  (`~astro_i2i.catalog.refine_positions`, as `posterior_catalog` does).

Printed: P / C / F1 within 0.18" and F1 within 0.5", the median position error
of sources matched within 0.5" per S/N bin (flux / 50 uJy), and seconds per
512 x 512 image (network and catalogue).
"""

import argparse
import time

import numpy as np
from astropy import units as u
from astropy.table import Table

from astro_i2i.catalog import REFINE_RADIUS, find_sources, matched_filter_snr, refine_positions, sky_model_threshold
from astro_i2i.metrics import match_sources, score_catalogs
from astro_i2i.models import load_checkpoint
from astro_i2i.reconstruct import reconstruct_array
from astro_i2i.simulate import SimulationConfig
from astro_i2i.training import beam_area_pixels
from astro_i2i.simulate import validation_set

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import TEST_SEED, separation_arcsec

parser = argparse.ArgumentParser()
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=TEST_SEED)
parser.add_argument("--model", action="append", required=True, metavar="LABEL=PATH[:K]")
args = parser.parse_args()

SNR_BINS = ((1, 3), (3, 5), (5, 7.5), (7.5, 10.01))
images, truth = validation_set(SimulationConfig(), args.n, args.seed)
truth_image = np.asarray(truth["image"])
print(f"{args.n} test images (seed {args.seed}), {len(truth)} sources")


def table_of(x, y, wcs):
    coords = wcs.pixel_to_world(x, y)
    return Table({"ra": np.atleast_1d(coords.ra.deg), "dec": np.atleast_1d(coords.dec.deg),
                  "flux": np.full(len(np.atleast_1d(x)), np.nan)})  # fmt: skip


def report(label, catalogs, seconds):
    near, far = score_catalogs(catalogs, truth), score_catalogs(catalogs, truth, radius=0.5 * u.arcsec)
    errors, snrs = [], []
    for i, catalog in catalogs.items():
        true = truth[truth_image == i]
        pairs = match_sources(catalog, true, radius=0.5 * u.arcsec)
        if len(pairs):
            d, t = catalog[pairs[:, 0]], true[pairs[:, 1]]
            errors.extend(separation_arcsec(d["ra"], d["dec"], t["ra"], t["dec"]))
            snrs.extend(np.asarray(t["snr"]))
    errors, snrs = np.asarray(errors), np.asarray(snrs)
    bins = "  ".join(f"[{lo:g},{min(hi, 10):g}) {np.median(errors[(snrs >= lo) & (snrs < hi)]):.3f}\""
                     if np.any((snrs >= lo) & (snrs < hi)) else f"[{lo:g},{min(hi, 10):g}) --"
                     for lo, hi in SNR_BINS)  # fmt: skip
    print(f"{label:<34} P {100 * near.purity:5.1f} C {100 * near.completeness:5.1f} F1 {100 * near.f1:5.1f} | "
          f"F1@0.5\" {100 * far.f1:5.1f} | median error {np.median(errors):.3f}\" ({bins}) | {seconds:.3f} s/image")  # fmt: skip


for spec in args.model:
    label, rest = spec.split("=", 1)
    path, _, k = rest.partition(":")
    samples = int(k or 1)
    model, card = load_checkpoint(path)
    settings = card.inference.detection_for(samples)
    beam_pixels = beam_area_pixels(card)
    segment, refined, seconds, refine_seconds = {}, {}, 0.0, 0.0
    for i, image in enumerate(images):
        begin = time.perf_counter()
        skies, _ = reconstruct_array(model, card.normalisation, image["dirty"], samples=samples,
                                     sigma_style=card.inference.sigma_style, seed=i, tile=512, batch_size=1,
                                     device="cpu")  # fmt: skip
        sky = skies.mean(axis=0)
        threshold = sky_model_threshold(image["dirty"], beam_pixels, nsigma=settings.candidate_nsigma)
        catalog = find_sources(sky, image["wcs"], threshold=threshold)
        x, y = catalog["x"].value, catalog["y"].value
        seconds += time.perf_counter() - begin
        segment[i] = table_of(x, y, image["wcs"])
        begin = time.perf_counter()
        pixel = image["wcs"].proj_plane_pixel_scales()[0].to(u.arcsec)
        snr = matched_filter_snr(image["dirty"], pixel_scale=pixel)
        rx, ry, _ = refine_positions(x, y, snr, radius=float((REFINE_RADIUS / pixel).decompose()))
        refined[i] = table_of(rx, ry, image["wcs"])
        refine_seconds += time.perf_counter() - begin
    mode = "direct" if samples == 1 else f"K={samples}"
    report(f"{label} {mode}, segment", segment, seconds / len(images))
    report(f"{label} {mode}, refined", refined, (seconds + refine_seconds) / len(images))
