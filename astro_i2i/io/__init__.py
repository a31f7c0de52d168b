"""Reading dirty images and writing astro-i2i's product files.

Nothing here imports torch.
"""

from ._cube import CubeProductWriter, RadioCube, cube_channels, cube_summary, is_cube, read_cube
from ._beam import fit_psf_beam, parse_beam_string, psf_similarity
from ._products import ESCAPED_KEYWORD, Products, header_text, read_products, style_wcs, write_products
from ._pbcor import check_not_pb_corrected, undo_pb_correction
from ._casa import is_casa_image
from ._read import (RadioImage, find_primary_beam, find_psf, image_summary, read_hdu, read_image, read_primary_beam,
                    read_psf, read_sky_image, rescaled_wcs, unitless_image_kind)  # fmt: skip

# ``__all__`` is what a user calls (and what the API reference lists); the other names imported above are
# public for astro-i2i's own packages, the benchmarks and tests, so that none of them reaches into a private module.
__all__ = [
    "RadioImage",
    "RadioCube",
    "read_image",
    "read_cube",
    "read_sky_image",
    "read_psf",
    "read_primary_beam",
    "find_primary_beam",
    "find_psf",
    "is_cube",
    "undo_pb_correction",
    "check_not_pb_corrected",
    "rescaled_wcs",
    "fit_psf_beam",
    "psf_similarity",
    "write_products",
    "read_products",
    "Products",
    "image_summary",
    "cube_summary",
    "header_text",
]
