"""Mapping between physical units and the networks' normalised units (saved in checkpoints)."""

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Normalisation"]


@dataclass(frozen=True)
class Normalisation:
    """Dirty image: ``x = dirty / dirty_scale`` (Jy/beam). Sky: ``y = sign(S) |S / sky_scale| ** sky_power`` (Jy/pixel).

    The power transform (0.5 in the reference DDPM work) compresses the sky's
    dynamic range so that faint sources weigh in the loss. Works on numpy
    arrays and torch tensors alike.

    With ``downsample = f > 1`` the networks work on a grid ``f`` times
    coarser (the reference DDPM work's 4x): `to_network_grid` averages the
    dirty image over f x f blocks and sums the sky over them (flux is
    conserved), and `from_network_grid` brings a sky back with bicubic
    interpolation divided by ``f**2``. These two need ``(N, C, H, W)`` tensors.

    Attributes
    ----------
    dirty_scale : float
        Jy/beam; default 4.6e-4 (about 10 noise sigma).
    sky_scale : float
        Jy/pixel; default 3e-5 (about the brightest source's peak).
    sky_power : float
        Exponent of the sky's power transform; default 0.5.
    downsample : int
        The networks' grid is this many times coarser than the image's;
        default 1.
    """

    dirty_scale: float = 10 * 46e-6  #: about 10 noise sigma
    sky_scale: float = 3e-5  #: about the brightest source's peak, Jy/pixel
    sky_power: float = 0.5
    downsample: int = 1  #: the networks' grid is this many times coarser than the image's

    def __post_init__(self):
        if not (self.dirty_scale > 0 and self.sky_scale > 0 and self.sky_power > 0):
            raise ValueError(f"normalisation scales and power must be positive: {self!r}")
        if int(self.downsample) != self.downsample or self.downsample < 1:
            raise ValueError(f"downsample must be a positive integer, not {self.downsample!r}")

    def to_network_grid(self, image, *, kind):
        """Block-average a dirty image (``kind='dirty'``) or block-sum a sky (``kind='sky'``).

        Parameters
        ----------
        image : `torch.Tensor`
            ``(N, C, H, W)``, H and W multiples of ``downsample``.
        kind : {'dirty', 'sky'}
            What ``image`` is.

        Returns
        -------
        image : `torch.Tensor`
            ``(N, C, H / downsample, W / downsample)``; ``image`` itself when
            ``downsample`` is 1.
        """
        if self.downsample == 1:
            return image
        from torch.nn import functional as nnf

        pooled = nnf.avg_pool2d(image, self.downsample)
        return pooled * self.downsample**2 if kind == "sky" else pooled

    def from_network_grid(self, sky, size):
        """A sky (Jy per network pixel) back on the image grid of shape ``size`` (Jy/pixel).

        Parameters
        ----------
        sky : `torch.Tensor`
            ``(N, C, h, w)`` sky on the network's grid, Jy per network pixel.
        size : tuple of int
            ``(H, W)`` of the image grid.

        Returns
        -------
        sky : `torch.Tensor`
            ``(N, C, H, W)``, Jy/pixel (bicubic, divided by ``downsample**2``);
            ``sky`` itself when ``downsample`` is 1.
        """
        if self.downsample == 1:
            return sky
        from torch.nn import functional as nnf

        return nnf.interpolate(sky, size=size, mode="bicubic", align_corners=False) / self.downsample**2

    def dirty_to_network(self, dirty):
        """The network's input: ``dirty / dirty_scale``.

        Parameters
        ----------
        dirty : `~numpy.ndarray` or `torch.Tensor`
            Dirty image, Jy/beam.

        Returns
        -------
        x : `~numpy.ndarray` or `torch.Tensor`
            Normalised, no unit; same type as ``dirty``.
        """
        return dirty / self.dirty_scale

    def dirty_from_network(self, x):
        """The inverse of `dirty_to_network`: ``x * dirty_scale``.

        Parameters
        ----------
        x : `~numpy.ndarray` or `torch.Tensor`
            Normalised dirty image.

        Returns
        -------
        dirty : `~numpy.ndarray` or `torch.Tensor`
            Jy/beam.
        """
        return x * self.dirty_scale

    def sky_to_network(self, sky):
        """The network's target: ``sign(S) |S / sky_scale| ** sky_power``.

        Parameters
        ----------
        sky : `~numpy.ndarray` or `torch.Tensor`
            Sky model S, Jy/pixel.

        Returns
        -------
        y : `~numpy.ndarray` or `torch.Tensor`
            Normalised, no unit.
        """
        scaled = sky / self.sky_scale
        return _sign(scaled) * abs(scaled) ** self.sky_power

    def sky_from_network(self, y):
        """The inverse of `sky_to_network`: ``sign(y) |y| ** (1 / sky_power) * sky_scale``.

        Parameters
        ----------
        y : `~numpy.ndarray` or `torch.Tensor`
            Normalised sky.

        Returns
        -------
        sky : `~numpy.ndarray` or `torch.Tensor`
            Jy/pixel (Jy per network pixel before `from_network_grid`).
        """
        return _sign(y) * abs(y) ** (1 / self.sky_power) * self.sky_scale

    def to_dict(self):
        """The fields as a plain dict (as saved in checkpoints).

        Returns
        -------
        values : dict
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A `Normalisation` from `to_dict`'s output.

        Parameters
        ----------
        values : dict
            The fields by name.

        Returns
        -------
        normalisation : `Normalisation`
        """
        return cls(**values)


def _sign(value):
    return value.sign() if hasattr(value, "sign") and not isinstance(value, np.ndarray) else np.sign(value)
