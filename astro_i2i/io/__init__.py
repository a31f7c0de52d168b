"""Reading dirty images and writing astro-i2i's product files.

Nothing here imports torch.
"""

from ._cube import CubeProductWriter, RadioCube, cube_channels, cube_summary, is_cube, read_cube
from ._beam import fit_psf_beam, parse_beam_string, psf_similarity
from ._products import ESCAPED_KEYWORD, Products, header_text, read_products, style_wcs, write_products
from ._read import (RadioImage, find_primary_beam, image_summary, read_hdu, read_image, read_primary_beam, read_psf,
                    read_sky_image, unitless_image_kind)  # fmt: skip

__all__ = [
    "RadioImage",
    "RadioCube",
    "read_cube",
    "is_cube",
    "cube_channels",
    "cube_summary",
    "CubeProductWriter",
    "read_image",
    "read_sky_image",
    "read_hdu",
    "read_psf",
    "read_primary_beam",
    "find_primary_beam",
    "unitless_image_kind",
    "image_summary",
    "fit_psf_beam",
    "parse_beam_string",
    "psf_similarity",
    "write_products",
    "read_products",
    "Products",
    "style_wcs",
    "header_text",
    "ESCAPED_KEYWORD",
]
