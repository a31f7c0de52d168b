"""Regenerate the example files that ship in astro_i2i/data/examples/.

Usage: python examples/make_example_data.py
Simulates one ALMA Cycle 5.3 Band 6 image with the default configuration
(seed 2026, image 7: four sources, 0.08-0.5 mJy) and stores it gzipped.
"""

import gzip
import shutil
import tempfile
from pathlib import Path

from astro_i2i.simulate import write_dataset

SEED, INDEX = 2026, 7
target = Path(__file__).resolve().parents[1] / "astro_i2i" / "data" / "examples"

with tempfile.TemporaryDirectory() as tmp:
    truth = write_dataset(tmp, INDEX + 1, seed=SEED)
    for kind in ("dirty", "sky", "psf"):
        with open(Path(tmp) / f"{kind}_{INDEX:05d}.fits", "rb") as source:
            with gzip.GzipFile(target / f"example_{kind}.fits.gz", "wb", mtime=0) as destination:
                shutil.copyfileobj(source, destination)
    rows = truth[truth["image"] == INDEX]
    rows.meta["description"] = f"True sources of the example image (seed {SEED}, image {INDEX})"
    rows.write(target / "example_truth.ecsv", format="ascii.ecsv", overwrite=True)
print(f"wrote {len(rows)} sources and 3 images to {target}")
