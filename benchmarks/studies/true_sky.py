"""The true sky's catalogue: its noiseless threshold, and what the networks' coarser grid costs.

Usage: python benchmarks/studies/true_sky.py [N] [SEED]   (default 500 test images, seed 2000000)

1. A true sky has no noise, so `~astro_i2i.catalog.find_sources` thresholds it
   at a fraction of its peak (``_NOISELESS_FRACTION`` in ``catalog/_segment.py``).
   P, C, F1 (0.18") of photutils on the true skies for several fractions: too
   high loses faint sources beside bright ones, too low merges neighbours
   through their Gaussian wings.
2. The networks work on a 4x coarser grid (`~astro_i2i.models.Normalisation`,
   ``downsample = 4``): the true skies sent through it (block sums down, bicubic
   up) and catalogued the same way give the most any network on that grid could
   score with a sky-model catalogue (docs/models.rst, "How we got here").
"""

import sys

import numpy as np

from astro_i2i.catalog import find_sources
from astro_i2i.metrics import score_catalogs
from astro_i2i.simulate import SimulationConfig
from astro_i2i.simulate import validation_set

import _benchmarks_path  # noqa: F401  (benchmarks/ on sys.path, for _common)
from _common import TEST_SEED

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
seed = int(sys.argv[2]) if len(sys.argv) > 2 else TEST_SEED
images, truth = validation_set(SimulationConfig(), n, seed)
print(f"{n} test images (seed {seed}), {len(truth)} sources")
print(f"{'fraction of peak':>16} {'P':>6} {'C':>6} {'F1':>6}")
for fraction in (1e-2, 3e-3, 1e-3, 3e-4, 1e-4):
    catalogs = {i: find_sources(image["sky"], image["wcs"], threshold=fraction * image["sky"].max())
                for i, image in enumerate(images) if image["sky"].max() > 0}  # fmt: skip
    score = score_catalogs(catalogs, truth, images=range(n))
    print(f"{fraction:16.0e} {100 * score.purity:6.2f} {100 * score.completeness:6.2f} {100 * score.f1:6.2f}")

import torch  # noqa: E402

from astro_i2i.models import Normalisation  # noqa: E402

grid = Normalisation(downsample=4)
catalogs = {}
for i, image in enumerate(images):
    sky = torch.from_numpy(image["sky"][None, None].astype(np.float64))
    through = grid.from_network_grid(grid.to_network_grid(sky, kind="sky"), sky.shape[-2:])[0, 0].numpy()
    if image["sky"].max() > 0:
        catalogs[i] = find_sources(through, image["wcs"], threshold=1e-3 * through.max())
score = score_catalogs(catalogs, truth, images=range(n))
print(f"\ntrue skies through the 4x coarser network grid and back: P {100 * score.purity:.2f}, "
      f"C {100 * score.completeness:.2f}, F1 {100 * score.f1:.2f}")
