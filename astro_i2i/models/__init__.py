"""Networks, losses, normalisation and checkpoints (needs torch).

Training (issue 5) and the user-facing `Reconstructor` (issue 6) build on this.
"""

from .checkpoint import file_checksum, load_checkpoint, save_checkpoint
from .losses import distance_correlation
from .networks import ARCHITECTURES, MSEUNet, TwoToOne, UNet
from .normalisation import Normalisation

__all__ = [
    "MSEUNet",
    "TwoToOne",
    "UNet",
    "ARCHITECTURES",
    "distance_correlation",
    "Normalisation",
    "save_checkpoint",
    "load_checkpoint",
    "file_checksum",
]
