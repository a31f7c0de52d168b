"""Simulate -> reconstruct -> evaluate, the whole loop in one script.

Usage: python examples/simulate_reconstruct_evaluate.py [OUTDIR] [N]

1. ``astro-i2i simulate`` writes N dirty images with their truth table;
2. ``Reconstructor`` (the shipped 2-to-1 model, K = 10) writes a product file
   per image (sky, uncertainty, style, catalogue) and one quick-look PNG;
3. ``astro-i2i evaluate`` scores the product files' catalogues against the truth.

The same with the command line::

    astro-i2i simulate OUTDIR --n 5 --seed 7
    for f in OUTDIR/dirty_?????.fits; do astro-i2i reconstruct "$f" -o "${f%.fits}_i2i.fits"; done
    astro-i2i evaluate --truth OUTDIR/truth.ecsv OUTDIR/*_i2i.fits
"""

import sys
from pathlib import Path

from astro_i2i import Reconstructor
from astro_i2i.cli import main
from astro_i2i.cli._reconstruct import summary, write_quicklook

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "i2i_demo")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def run(args):
    try:
        main(args)
    except SystemExit as exc:
        if exc.code:
            raise


run(["simulate", str(outdir), "--n", str(n), "--seed", "7", "--overwrite"])
reconstructor = Reconstructor.from_pretrained()
products = []
for dirty in sorted(outdir.glob("dirty_?????.fits")):
    result = reconstructor.reconstruct(dirty, samples=10, seed=0)
    output = dirty.with_name(dirty.stem + "_i2i.fits")
    result.write(output, overwrite=True)
    products.append(str(output))
    print("\n".join(summary(result, output)))
    if len(products) == 1:
        write_quicklook(result, outdir / "quicklook.png", overwrite=True)
run(["evaluate", "--truth", str(outdir / "truth.ecsv"), *products])
