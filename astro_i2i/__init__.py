"""astro-i2i: radio sky models, uncertainty maps and source catalogues from dirty images.

The I/O, catalogue and metrics modules import without torch; the model,
training and inference modules need it.
"""

from ._version import __version__
from .exceptions import InputError

__all__ = ["__version__", "InputError"]
