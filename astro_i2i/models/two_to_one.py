"""The 2-to-1 content-style model: any two of (content, style, composite) give the third.

Content c = sky model, style s = noise (a learnt latent), composite x = dirty
image. Four networks:

- style encoder ``E(c, x) -> s``;
- content generator ``G_c(s, x) -> c`` (reconstruction);
- composite generator ``G_x(c, s) -> x`` (generation);
- style estimator ``F(x) -> s_hat``, the centre of the plausible styles of x.

Distance correlation between style and content keeps the style free of the sky.
"""

import torch
from torch.nn import functional as nnf

from ._base import SkyModel, _noise
from ._layers import UNet, _Encoder
from .losses import distance_correlation

__all__ = ["TwoToOne"]


class TwoToOne(SkyModel):
    """2-to-1 content-style model.

    Parameters
    ----------
    base_channels : int
        Width of the first level of every network.
    depth : int
        Downsamplings of the U-Nets.
    style_channels : int
        Channels of the style map.
    style_levels : int
        The style map is ``2**style_levels`` times coarser than the image: it
        can describe the noise's local statistics and correlation but has too
        few pixels to carry the sky.
    norm : {'group', 'pixel'}
        Normalisation layers: group norm (statistics over the whole input) or
        `~astro_i2i.models.PixelNorm` (per pixel, so that tiled and
        whole-image results agree).
    content_channels : int, optional
        Width of the content generator (the network that runs at inference),
        if it should differ from ``base_channels``.
    """

    architecture = "two_to_one"
    stochastic = True
    has_style = True

    def __init__(self, *, base_channels=16, depth=3, style_channels=4, style_levels=3, norm="group",
                 content_channels=None):  # fmt: skip
        super().__init__()
        content_channels = content_channels or base_channels
        self.register_to_config(content_channels=content_channels)  # saved resolved, as since 0.1
        self.style_channels = style_channels
        self.style_levels = style_levels
        sizes = {"base_channels": base_channels, "norm": norm}
        self.style_encoder = _Encoder(2, style_channels, levels=style_levels, **sizes)
        self.style_estimator = _Encoder(1, style_channels, levels=style_levels, **sizes)
        self.content_generator = UNet(1 + style_channels, 1, depth=depth, base_channels=content_channels, norm=norm)
        self.composite_generator = UNet(1 + style_channels, 1, depth=depth, **sizes)

    @property
    def style_factor(self):
        return 2**self.style_levels

    def _expand(self, style, like):
        return nnf.interpolate(style, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def encode_style(self, content, composite):
        """``E(c, x)``: the style that, with ``content``, explains ``composite`` (values in (-1, 1)).

        Parameters
        ----------
        content : `torch.Tensor`
            ``(B, 1, H, W)`` normalised sky.
        composite : `torch.Tensor`
            ``(B, 1, H, W)`` normalised dirty image.

        Returns
        -------
        style : `torch.Tensor`
            ``(B, C, H / style_factor, W / style_factor)``.
        """
        return torch.tanh(self.style_encoder(torch.cat([content, composite], dim=1)))

    def estimate_style(self, composite):
        """``F(x)``: the centre of the plausible styles of a dirty image (values in (-1, 1)).

        Parameters
        ----------
        composite : `torch.Tensor`
            ``(B, 1, H, W)`` normalised dirty image.

        Returns
        -------
        style : `torch.Tensor`
            ``(B, C, H / style_factor, W / style_factor)``.
        """
        return torch.tanh(self.style_estimator(composite))

    def reconstruct(self, composite, style=None):
        """``G_c(s, x)``: the sky; with ``style=None`` the estimated style is used (direct mode).

        Parameters
        ----------
        composite : `torch.Tensor`
            ``(B, 1, H, W)`` normalised dirty image.
        style : `torch.Tensor`, optional
            ``(B, C, h, w)``, resampled (bilinear) to the image's size;
            default None, `estimate_style` of ``composite``.

        Returns
        -------
        sky : `torch.Tensor`
            ``(B, 1, H, W)`` normalised sky.
        """
        if style is None:
            style = self.estimate_style(composite)
        return self.content_generator(torch.cat([composite, self._expand(style, composite)], dim=1))

    def generate(self, content, style):
        """``G_x(c, s)``: a dirty image of sky ``content`` with noise ``style``.

        Parameters
        ----------
        content : `torch.Tensor`
            ``(B, 1, H, W)`` normalised sky.
        style : `torch.Tensor`
            ``(B, C, h, w)``, resampled (bilinear) to the sky's size.

        Returns
        -------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)`` normalised dirty image.
        """
        return self.composite_generator(torch.cat([content, self._expand(style, content)], dim=1))

    def loss(self, dirty, sky, weights):
        style = self.encode_style(sky, dirty)
        parts = {
            "content": nnf.mse_loss(self.reconstruct(dirty, style), sky),
            "composite": nnf.mse_loss(self.generate(sky, style), dirty),
            "style_fit": nnf.mse_loss(self.estimate_style(dirty), style.detach()),
            "distance_correlation": distance_correlation(style, sky, squared=True),
        }
        if weights.get("direct", 0) > 0:
            parts["direct"] = nnf.mse_loss(self.reconstruct(dirty), sky)
        total = sum(weights.get(name, 0.0) * value for name, value in parts.items())
        return total, {name: float(value.detach()) for name, value in parts.items()}

    def sample(self, dirty, samples, *, sigma_style=0.0, generators=None):
        """``G_c(F(x) + sigma_s eps_k, x)`` for k = 1..K; K = 1 is the direct mode ``G_c(F(x), x)``.

        Parameters
        ----------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.
        samples : int
            K.
        sigma_style : float, optional
            ``sigma_s``, the standard deviation of the style perturbation. Default 0.0.
        generators : list of `torch.Generator`, optional
            One per batch element, for ``eps_k``.

        Returns
        -------
        skies : `torch.Tensor`
            ``(B, K, 1, H, W)`` normalised skies (K = 1 for ``samples <= 1``).
        style : `torch.Tensor`
            The estimated style ``F(x)``, ``(B, C, H / style_factor, W / style_factor)``.
        """
        centre = self.estimate_style(dirty)
        if samples <= 1:
            return self.reconstruct(dirty, centre)[:, None], centre
        skies = []
        for b in range(len(dirty)):
            generator = None if generators is None else generators[b]
            styles = centre[b : b + 1] + sigma_style * _noise((samples, *centre.shape[1:]), generator, centre)
            skies.append(self.reconstruct(dirty[b : b + 1].expand(samples, -1, -1, -1), styles))
        return torch.stack(skies), centre
