"""The baseline: a U-Net from the dirty image to the sky, trained with MSE only."""

from torch.nn import functional as nnf

from ._base import SkyModel
from ._layers import UNet

__all__ = ["MSEUNet"]


class MSEUNet(SkyModel):
    """U-Net regression of the (normalised) sky on the (normalised) dirty image.

    Parameters
    ----------
    base_channels : int
    depth : int
    norm : {'group', 'pixel'}
    """

    architecture = "mse_unet"

    def __init__(self, *, base_channels=16, depth=3, norm="group"):
        super().__init__()
        self.net = UNet(1, 1, base_channels=base_channels, depth=depth, norm=norm)

    def reconstruct(self, dirty):
        """Sky (normalised) from the dirty image (normalised).

        Parameters
        ----------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.

        Returns
        -------
        sky : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.
        """
        return self.net(dirty)

    def loss(self, dirty, sky, weights):
        loss = nnf.mse_loss(self.reconstruct(dirty), sky)
        return loss, {"content": float(loss.detach())}

    def sample(self, dirty, samples, *, sigma_style=0.0, generators=None):
        return self.reconstruct(dirty)[:, None], None
