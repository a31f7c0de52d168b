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
    "merge_channels",
    "reconstruct_sky",
    "reconstruct_array",
    "tiled",
    "tile_starts",
    "edge_weights",
    "TILE_MARGIN_FRACTION",
    "PIXEL_SCALE_TOLERANCE",
    "BEAM_RATIO_LIMIT",
    "DEFAULT_SEED",
]
