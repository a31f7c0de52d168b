"""Noise level and texture of ``generate --style-from`` on the CASA-made reference images.

For each of the 12 images, sky_i is generated with the style of dirty_j (j = i + 7 mod 12,
another observation), and the script prints the style source's robust noise
(`astro_i2i.catalog.noise_sigma`, uJy/beam), the generated image's, their ratio, and the
correlation of the generated image's azimuthal noise autocorrelation (lags 0-20 pixels,
`astro_i2i.simulate.validation.radial_autocorrelation`) with the azimuthal profile of
psf_j (the style source's own noise autocorrelation's correlation is shown for reference).

Usage: python benchmarks/generate_noise.py [REFERENCE_DIR]   (default ../shared/reference/casa)
"""

import sys
from pathlib import Path

import numpy as np

from astro_i2i.catalog import noise_sigma
from astro_i2i.io import read_image, read_psf
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate.validation import radial_autocorrelation


def psf_profile(psf, max_lag=20):
    """Azimuthal profile of a PSF (peak at n // 2) at integer lags 0..max_lag, 1 at 0."""
    ny, nx = psf.shape
    yy, xx = np.mgrid[:ny, :nx]
    radius = np.rint(np.hypot(yy - ny // 2, xx - nx // 2)).astype(int)
    keep = (radius <= max_lag) & np.isfinite(psf)
    profile = np.bincount(radius[keep], psf[keep]) / np.bincount(radius[keep])
    return profile / profile[0]


def main(reference):
    reconstructor = Reconstructor.from_pretrained()
    print(f"{'sky':>7} {'style':>9} {'style uJy':>10} {'gen uJy':>8} {'ratio':>6} {'AC corr':>8} {'style AC':>8}")
    ratios, corrs = [], []
    for i in range(12):
        j = (i + 7) % 12
        style = reference / f"dirty_{j:03d}.fits"
        generated = reconstructor.generate(reference / f"sky_{i:03d}.fits", style_from=style, seed=i).data
        source_image = read_image(style)
        source = source_image.data
        psf = psf_profile(read_psf(reference / f"psf_{j:03d}.fits", image=source_image))
        corr = np.corrcoef(radial_autocorrelation(generated), psf)[0, 1]
        corr_style = np.corrcoef(radial_autocorrelation(source), psf)[0, 1]
        s_style, s_gen = noise_sigma(source) * 1e6, noise_sigma(generated) * 1e6
        ratios.append(s_gen / s_style)
        corrs.append(corr)
        print(f"sky_{i:03d} dirty_{j:03d} {s_style:10.2f} {s_gen:8.2f} {s_gen / s_style:6.3f} {corr:8.3f} {corr_style:8.3f}")
    print(f"noise ratio generated/style: {min(ratios):.3f}-{max(ratios):.3f} (median {np.median(ratios):.3f}); "
          f"autocorrelation correlation with the PSF: min {min(corrs):.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "reference" / "casa")
