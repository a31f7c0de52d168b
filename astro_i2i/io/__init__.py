"""Reading dirty images and writing astro-i2i's product files.

Nothing here imports torch.
"""

from ._beam import fit_psf_beam, parse_beam_string
from ._products import Products, read_products, style_wcs, write_products
from ._read import RadioImage, image_summary, read_hdu, read_image, read_sky_image

__all__ = [
    "RadioImage",
    "read_image",
    "read_sky_image",
    "read_hdu",
    "image_summary",
    "fit_psf_beam",
    "parse_beam_string",
    "write_products",
    "read_products",
    "Products",
    "style_wcs",
]
