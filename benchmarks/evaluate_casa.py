"""The shipped models and the matched filter on CASA-made reference images (a check, not a target: few sources).

Usage: python benchmarks/evaluate_casa.py [DIR] [--samples K]

DIR (default ``../shared/reference/casa``) holds ``dirty_XXX.fits`` (tclean,
natural weighting), ``pb_000.fits`` (the primary beam, the same for every
pointing) and ``truth.ecsv``. Each image is reconstructed as a user would
(``Reconstructor.reconstruct(path, primary_beam=PB)``, default seed) and its
catalogue scored within 0.18" and 0.5", with the entries a reliability cut of 0.5 or 0.9
keeps; the matched filter (0.6" Gaussian,
peaks above 4 sigma, `astro_i2i.baselines.matched_filter_catalog`) is scored the same way.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u

from _common import read_casa_reference

from astro_i2i.baselines import matched_filter_catalog
from astro_i2i.io import read_image
from astro_i2i.metrics import match_sources, score_catalogs
from astro_i2i.reconstruct import Reconstructor

parser = argparse.ArgumentParser()
parser.add_argument("directory", nargs="?", default="../shared/reference/casa")
parser.add_argument("--samples", type=int, default=10)
args = parser.parse_args()
folder = Path(args.directory)
truth, names, pb = read_casa_reference(folder)
print(f"{len(names)} CASA-made images, {len(truth)} sources")


def report(label, catalogs):
    near, far = score_catalogs(catalogs, truth), score_catalogs(catalogs, truth, radius=0.5 * u.arcsec)
    ratios = np.asarray(near.flux_ratios)
    flux = f"median flux ratio {np.median(ratios):.2f} ({len(ratios)} matched)" if len(ratios) else ""
    print(f"{label:<24} P {100 * near.purity:5.1f} C {100 * near.completeness:5.1f} F1 {100 * near.f1:5.1f} | "
          f"within 0.5\": F1 {100 * far.f1:5.1f} | {flux}")  # fmt: skip


filtered = {}
for name in names:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = read_image(folder / f"dirty_{name}.fits")
    # Positions and S/N only: without a beam the catalogue's fluxes are NaN.
    filtered[int(name)] = matched_filter_catalog(image.data, image.wcs, pixel_scale=image.pixel_scale, nsigma=4.0)
report("matched filter (4 sigma)", filtered)

for model, samples in (("mse", 1), ("two_to_one", 1), ("two_to_one", args.samples)):
    reconstructor = Reconstructor.from_pretrained(model)
    catalogs = {}
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = reconstructor.reconstruct(folder / f"dirty_{name}.fits", samples=samples, primary_beam=pb)
        catalogs[int(name)] = result.catalog
    report(f"{model} {'direct' if samples == 1 else f'K={samples}'}", catalogs)
    # What a user's reliability cut keeps (the README's example uses 0.5).
    for cut in (0.5, 0.9):
        kept = {n: int((np.asarray(c["reliability"]) >= cut).sum()) for n, c in catalogs.items()}
        print(f"    reliability >= {cut}: {sum(kept.values())} entries, in {sum(k > 0 for k in kept.values())} of "
              f"{len(kept)} images")  # fmt: skip
    matched = []
    for name, catalog in catalogs.items():
        pairs = match_sources(catalog, truth[np.asarray(truth["image"]) == name])
        true = truth[np.asarray(truth["image"]) == name]
        for d, t in pairs:
            matched.append((catalog["flux"][d].to_value(u.mJy), 1e3 * true["flux"][t], catalog["flux_err"][d].to_value(u.mJy)))
    for flux, true_flux, err in matched:
        print(f"    catalogued {flux:.3f} +- {err:.3f} mJy, true {true_flux:.3f} mJy")
    covered = [abs(flux - true_flux) <= 1.96 * err for flux, true_flux, err in matched]
    print(f"    true flux within +- 1.96 flux_err for {sum(covered)} of {len(covered)} matched sources")
