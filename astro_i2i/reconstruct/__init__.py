"""Reconstruction with trained models (needs torch).

- `Reconstructor` / `Reconstruction`: the facade pipelines and the CLI use;
- `ReconstructOptions`: how to reconstruct, checked once, for every path;
- `reconstruct_sky`, `reconstruct_array`: the array-level core;
- `reconstruct_cube`, `CubeReconstruction`: spectral cubes, channel by channel;
- `reconstruct_many`: many files, serially or on dask.distributed;
- `tiled`: overlapping tiles with cross-fading for images of any size.
"""

from ._core import reconstruct_array, reconstruct_sky
from ._tiling import TILE_MARGIN_FRACTION, edge_weights, tile_starts, tiled
from .many import ManyResult, preload_model, product_path, reconstruct_many
from .cube import CubeReconstruction, merge_channels, reconstruct_cube
from ._options import DEFAULT_SEED, ReconstructOptions
from .reconstructor import BEAM_RATIO_LIMIT, PIXEL_SCALE_TOLERANCE, Reconstruction, Reconstructor

# ``__all__`` is what a user calls (and what the API reference lists); the other names imported above are
# public for astro-i2i's own packages, the benchmarks and tests, so that none of them reaches into a private module.
__all__ = [
    "Reconstructor",
    "Reconstruction",
    "ReconstructOptions",
    "CubeReconstruction",
    "reconstruct_cube",
    "reconstruct_many",
    "ManyResult",
    "product_path",
    "preload_model",
    "reconstruct_array",
    "reconstruct_sky",
    "tiled",
    "DEFAULT_SEED",
]
