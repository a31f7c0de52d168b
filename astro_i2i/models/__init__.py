"""Models, losses, normalisation, checkpoints and inference settings (needs torch).

One module per model (`MSEUNet`, `TwoToOne`, `DDPM`), each owning its loss and its
sampling (`SkyModel`); `ARCHITECTURES` maps checkpoint names to classes.
"""

from ._base import SkyModel
from ._layers import PixelNorm, UNet
from .checkpoint import ARCHITECTURES, ModelCard, file_checksum, load_checkpoint, save_checkpoint
from .ddpm import DDPM
from .losses import distance_correlation
from .mse_unet import MSEUNet
from .normalisation import Normalisation
from .settings import InferenceSettings, UncertaintyCalibration
from .two_to_one import TwoToOne

# ``__all__`` is what a user calls (and what the API reference lists); the other names imported above are
# public for astro-i2i's own packages, the benchmarks and tests, so that none of them reaches into a private module.
__all__ = [
    "SkyModel",
    "TwoToOne",
    "MSEUNet",
    "DDPM",
    "Normalisation",
    "InferenceSettings",
    "UncertaintyCalibration",
    "ModelCard",
    "load_checkpoint",
    "save_checkpoint",
]
