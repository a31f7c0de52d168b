"""Where the catalogue's flux bias comes from: template, position, size and selection, per S/N bin.

Usage: python benchmarks/studies/flux_bias.py [N] [SEED] [--model two_to_one] [--samples 10]

The catalogue's flux is a least-squares fit, to the dirty image, of a 0.6"
Gaussian convolved with a Gaussian of the beam, at the catalogue's position,
times the checkpoint's template correction (``flux_scale``, 0.87 for the
shipped K = 10). For every catalogued source matched to a true one within
0.18" on N simulated images (seed SEED; default the 500 calibration images of
seed 1 500 000, so the test images stay untouched), this script fits the same
dirty image again, changing one thing at a time, and prints the median ratio to
the true flux per S/N bin (true flux / 50 uJy) with its 95 % bootstrap interval:

- the catalogue as shipped (template-corrected);
- the uncorrected fit (catalogue position, 0.6", the beam's Gaussian as PSF);
- the true position; then also the true size; then also the true PSF: what is
  left is selection (a source near the limit is catalogued, and matched within
  0.18", when the noise pushed it up), which no estimator of a peak-selected
  catalogue removes for every true flux at once.
"""

import argparse
import time

import numpy as np
from astropy import units as u

from astro_i2i.catalog import DEFAULT_SOURCE_FWHM, fit_fluxes, gaussian_psf, noise_sigma
from astro_i2i.metrics import match_sources
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import SimulationConfig
from astro_i2i.training import CALIBRATION_SEED
from astro_i2i.simulate import validation_set

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import header_of

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=CALIBRATION_SEED)
parser.add_argument("--model", default="two_to_one")
parser.add_argument("--samples", type=int, default=10)
args = parser.parse_args()

BINS = ((3, 5), (5, 7.5), (7.5, 10.01), (5, 10.01))
start = time.perf_counter()
images, truth = validation_set(SimulationConfig(), args.n, args.seed, psf=True)
reconstructor = Reconstructor.from_pretrained(args.model)
settings = reconstructor.settings.detection_for(args.samples)
pixel = 0.1 * u.arcsec
beam_psf = gaussian_psf(reconstructor.beam, pixel, 49)
truth_image = np.asarray(truth["image"])
columns = {"catalogue (as shipped)": [], "fit: catalogue position, 0.6\", beam as PSF": [],
           "  at the true position": [], "  and the true size": [], "  and the true PSF (selection only)": []}
true_snr = []
for i, image in enumerate(images):
    rows = np.flatnonzero(truth_image == i)
    catalog = reconstructor.reconstruct((image["dirty"], header_of(image, reconstructor.beam)), samples=args.samples,
                                        seed=i, primary_beam=image["primary_beam"]).catalog  # fmt: skip
    if not len(rows) or not len(catalog):
        continue
    pairs = match_sources(catalog, truth[rows], radius=0.18 * u.arcsec)
    noise = noise_sigma(image["dirty"])
    for c, t in pairs:
        source, true = catalog[c], truth[rows[t]]
        true_flux = float(true["flux"])
        size = float(np.sqrt(true["fwhm_maj"] * true["fwhm_min"])) * u.arcsec

        def fit(x, y, psf, fwhm):
            return fit_fluxes(image["dirty"], [x], [y], psf=psf, pixel_scale=pixel, primary_beam=image["primary_beam"],
                              source_fwhm=fwhm, noise=noise)[0][0] / true_flux  # fmt: skip

        cx, cy, tx, ty = float(source["x"].value), float(source["y"].value), float(true["x"]), float(true["y"])
        fwhm = DEFAULT_SOURCE_FWHM if settings.source_fwhm_arcsec is None else settings.source_fwhm_arcsec * u.arcsec
        values = (source["flux"].to_value(u.Jy) / true_flux, fit(cx, cy, beam_psf, fwhm), fit(tx, ty, beam_psf, fwhm),
                  fit(tx, ty, beam_psf, size), fit(tx, ty, image["psf"], size))  # fmt: skip
        for column, value in zip(columns.values(), values):
            column.append(value)
        true_snr.append(float(true["snr"]))
true_snr = np.asarray(true_snr)
print(f"{args.n} simulated images (seed {args.seed}), {args.model} K = {args.samples} (template correction "
      f"{settings.flux_scale:.3f}); {len(true_snr)} sources matched within 0.18\"; {time.perf_counter() - start:.0f} s")
print("  median flux / true flux [95 % bootstrap interval] per S/N bin (true flux / 50 uJy):")
rng = np.random.default_rng(0)
print(f"  {'':46s}" + "".join(f"{f'[{low:g}, {min(high, 10):g}' + (')' if high < 10 else ']'):>28s}"
                               for low, high in BINS))  # fmt: skip
for label, values in columns.items():
    values = np.asarray(values)
    cells = []
    for low, high in BINS:
        inside = values[(true_snr >= low) & (true_snr < high)]
        if not len(inside):
            cells.append(f"{'--':>28s}")
            continue
        boot = np.median(inside[rng.integers(0, len(inside), (1000, len(inside)))], axis=1)
        low_ci, high_ci = np.quantile(boot, [0.025, 0.975])
        cells.append(f"{np.median(inside):.3f} [{low_ci:.3f}, {high_ci:.3f}] n={len(inside)}".rjust(28))
    print(f"  {label:46s}" + "".join(cells))
