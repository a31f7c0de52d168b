"""Seams of the tiled reconstruction on a simulated 1536x1536 field (issue 6).

Usage: python benchmarks/bench_tiling.py [--model NAME|PATH] [SEED]

The field is a 3 x 3 mosaic of simulated 512x512 dirty images (blanked
pixels set to 0, so that the whole field is data). It is reconstructed in
direct mode twice: with the model's 512x512 tiles (each dropping 64 pixels at
its inner edges, neighbours cross-fading over 64 more) and in one pass over the
whole field. Printed: the largest difference between the two
in the tile overlaps, as a fraction of the peak; and the mean absolute
gradient of the tiled sky on the pixels along the interior tile edges against
the mean elsewhere.
"""

import argparse

import numpy as np
from _common import FRESH_SEED

from astro_i2i.reconstruct import TILE_MARGIN_FRACTION, Reconstructor, reconstruct_array, tile_starts
from astro_i2i.simulate import SimulationConfig, simulate_image

parser = argparse.ArgumentParser()
parser.add_argument("seed", nargs="?", type=int, default=FRESH_SEED)
parser.add_argument("--model", default=None)
args = parser.parse_args()

config = SimulationConfig()
field = np.zeros((1536, 1536), dtype=np.float32)
for i in range(9):
    dirty = simulate_image(config, np.random.default_rng([args.seed, i]))["dirty"]
    y, x = divmod(i, 3)
    field[512 * y : 512 * (y + 1), 512 * x : 512 * (x + 1)] = np.nan_to_num(dirty)

reconstructor = Reconstructor.from_pretrained(args.model)
model, norm = reconstructor.model, reconstructor.normalisation
kwargs = {"samples": 1, "sigma_style": 0.0, "seed": 0, "batch_size": 2, "device": "cpu"}
tiled = reconstruct_array(model, norm, field, tile=reconstructor.tile, **kwargs)[0][0]
single = reconstruct_array(model, norm, field, tile=1536, **kwargs)[0][0]

tile = reconstructor.tile
margin = int(tile * TILE_MARGIN_FRACTION)
overlap = 2 * margin + margin
starts = tile_starts(1536, tile, overlap)
coverage = np.zeros(field.shape, dtype=int)
edges = np.zeros(field.shape, dtype=bool)
for y in starts:
    for x in starts:
        coverage[y : y + tile, x : x + tile] += 1
for s in starts:
    for e in (s, s + tile):
        if 0 < e < 1536:
            edges[:, e - 1 : e + 1] = edges[e - 1 : e + 1, :] = True
in_overlap = coverage > 1
peak = np.abs(single).max()
difference = np.abs(tiled - single)
print(f"tiles of {tile} with overlap {overlap}: starts {starts}")
print(f"|tiled - single pass| in the overlaps: max {100 * difference[in_overlap].max() / peak:.3f} % of the peak, "
      f"mean {100 * difference[in_overlap].mean() / peak:.4f} %; elsewhere max "
      f"{100 * difference[~in_overlap].max() / peak:.3f} %")  # fmt: skip
for label, sky in (("tiled", tiled), ("single pass", single)):
    gy, gx = np.gradient(sky)
    gradient = np.hypot(gx, gy)
    print(f"mean |gradient| of the {label} sky: along tile edges {gradient[edges].mean():.3e}, elsewhere "
          f"{gradient[~edges].mean():.3e} Jy/pixel/pixel (ratio {gradient[edges].mean() / gradient[~edges].mean():.3f})")
