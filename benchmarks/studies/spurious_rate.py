"""How many noise peaks a set-up's images have per beam area, above a matched-filter S/N (issue 29).

Usage: python benchmarks/studies/spurious_rate.py [N]

A reliability calibrated on the seed's set-up assumes its rate of spurious candidates: noise peaks of the
dirty image's matched filter, per beam area, above each S/N. For each set-up of ``benchmarks/setups.py``,
on N (default 20) simulated images of noise only (no sources), this counts the matched filter's peaks
above 3, 4 and 5 sigma per beam area inside the primary beam's half-power disc (and the image), as a ratio
to the seed's. Ratios far from 1 mean the reliability's prior odds need the set-up's own rate, which the
negated dirty image (no source has a negative peak) measures on a user's own field.
"""

import warnings

import _benchmarks_path  # noqa: F401
import numpy as np
from astropy import units as u
from setups import SETUPS, setup_config

from astro_i2i.baselines import matched_filter_catalog
from astro_i2i.simulate import SimulationConfig, validation_set


def rates(name, n):
    config, fwhm = setup_config(name)
    blank = SimulationConfig.from_dict({**config.to_dict(), "sources": {**config.to_dict()["sources"],
                                                                        "empty_fraction": 1.0}})  # fmt: skip
    images, _ = validation_set(blank, n, 4_000_000)
    beams, counts = 0.0, np.zeros(3)
    typical = 0.5 * (config.sources.fwhm_min_arcsec + config.sources.fwhm_max_arcsec) * u.arcsec
    for image in images:
        table = matched_filter_catalog(image["dirty"], image["wcs"], nsigma=3.0, source_fwhm=typical)
        pixel = config.image.pixel_scale_arcsec
        ny, nx = image["dirty"].shape
        x, y = np.asarray(table["x"], dtype=float), np.asarray(table["y"], dtype=float)
        inside = np.hypot(x - nx / 2, y - ny / 2) * pixel <= config.sources.max_radius_arcsec
        snr = np.asarray(table["mf_snr"], dtype=float)[inside]
        counts += [np.sum(snr > t) for t in (3.0, 4.0, 5.0)]
        beams += np.pi * config.sources.max_radius_arcsec**2 / (1.1331 * fwhm**2)
    return counts / beams


def main():
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seed = rates("c3_b6", n)
        print(f"{'set-up':14s} {'peaks per 1000 beams > 3, 4, 5 sigma':>40s}   ratio to the seed's")
        for name in SETUPS:
            r = seed if name == "c3_b6" else rates(name, n)
            print(f"{name:14s} {1e3 * r[0]:12.2f} {1e3 * r[1]:12.2f} {1e3 * r[2]:12.3f}   "
                  f"{r[0] / seed[0]:5.2f} {r[1] / seed[1]:5.2f} {r[2] / seed[2] if seed[2] else np.nan:5.2f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
