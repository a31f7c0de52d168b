"""Models, losses, normalisation, checkpoints and inference settings (needs torch).

One module per model (`MSEUNet`, `TwoToOne`, `DDPM`), each owning its loss and its
sampling (`SkyModel`); `ARCHITECTURES` maps checkpoint names to classes.
"""

from ._base import SkyModel
from ._layers import PixelNorm, UNet
from .checkpoint import ARCHITECTURES, file_checksum, load_checkpoint, save_checkpoint
from .ddpm import DDPM
from .losses import distance_correlation
from .mse_unet import MSEUNet
from .normalisation import Normalisation
from .settings import InferenceSettings, UncertaintyCalibration
from .two_to_one import TwoToOne

__all__ = [
    "SkyModel",
    "MSEUNet",
    "TwoToOne",
    "DDPM",
    "UNet",
    "PixelNorm",
    "ARCHITECTURES",
    "distance_correlation",
    "Normalisation",
    "InferenceSettings",
    "UncertaintyCalibration",
    "save_checkpoint",
    "load_checkpoint",
    "file_checksum",
]
