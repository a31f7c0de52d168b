"""astro-i2i: radio sky models, uncertainty maps and source catalogues from dirty images.

The I/O, catalogue and metrics modules import without torch; the model,
training and inference modules need it. ``from astro_i2i import Reconstructor``
imports torch only when ``Reconstructor`` is first used.
"""

from ._version import __version__
from .exceptions import AstroI2IWarning, InputError

__all__ = ["__version__", "InputError", "AstroI2IWarning", "Reconstructor", "Reconstruction"]


def __getattr__(name):
    if name in ("Reconstructor", "Reconstruction"):
        from . import reconstruct

        return getattr(reconstruct, name)
    raise AttributeError(f"module 'astro_i2i' has no attribute {name!r}")
