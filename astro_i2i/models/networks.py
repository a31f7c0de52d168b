"""Fully convolutional networks: the MSE U-Net baseline and the 2-to-1 content-style model.

Content c = sky model, style s = noise (a learnt latent), composite x = dirty
image. The 2-to-1 model holds four networks:

- style encoder ``E(c, x) -> s``;
- content generator ``G_c(s, x) -> c`` (reconstruction);
- composite generator ``G_x(c, s) -> x`` (generation);
- style estimator ``F(x) -> s_hat``, the centre of the plausible styles of x.

All tensors are ``(batch, channels, height, width)`` in normalised units (see
`astro_i2i.models.normalisation`); height and width must be multiples of
``2**depth``.
"""

import torch
from torch import nn
from torch.nn import functional as nnf

__all__ = ["UNet", "MSEUNet", "TwoToOne", "PixelNorm", "ARCHITECTURES"]


def _groups(channels):
    for groups in (8, 4, 2, 1):
        if channels % groups == 0:
            return groups
    return 1


class PixelNorm(nn.Module):
    """Layer norm over the channels of each pixel: no statistics across the image.

    Unlike group norm, the output at a pixel depends only on its receptive
    field, so tiles of a large image give the same result as one pass.
    """

    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        return nnf.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


def _norm(kind, channels):
    if kind == "group":
        return nn.GroupNorm(_groups(channels), channels)
    if kind == "pixel":
        return PixelNorm(channels)
    raise ValueError(f"norm must be 'group' or 'pixel', not {kind!r}")


class _Block(nn.Module):
    """Two 3x3 convolutions with normalisation and SiLU, and a residual connection."""

    def __init__(self, in_channels, out_channels, norm="group"):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            _norm(norm, out_channels),
            nn.SiLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            _norm(norm, out_channels),
            nn.SiLU(),
        )
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x):
        return self.body(x) + self.skip(x)


class UNet(nn.Module):
    """A plain U-Net: ``depth`` downsamplings by 2, channels doubling (capped at 8x)."""

    def __init__(self, in_channels, out_channels, *, base_channels=16, depth=3, norm="group"):
        super().__init__()
        widths = [base_channels * min(2**level, 8) for level in range(depth + 1)]
        self.depth = depth
        self.stem = _Block(in_channels, widths[0], norm)
        self.down = nn.ModuleList(_Block(widths[i], widths[i + 1], norm) for i in range(depth))
        self.up = nn.ModuleList(_Block(widths[i + 1] + widths[i], widths[i], norm) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x):
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(nnf.avg_pool2d(skips[-1], 2)))
        h = skips.pop()
        for block in self.up:
            skip = skips.pop()
            h = block(torch.cat([nnf.interpolate(h, size=skip.shape[-2:], mode="nearest"), skip], dim=1))
        return self.head(h)


class _Encoder(nn.Module):
    """Convolutions down to the style resolution (``2**levels`` coarser)."""

    def __init__(self, in_channels, out_channels, *, base_channels, levels, norm="group"):
        super().__init__()
        layers, width = [_Block(in_channels, base_channels, norm)], base_channels
        for _ in range(levels):
            layers += [nn.AvgPool2d(2), _Block(width, min(width * 2, base_channels * 8), norm)]
            width = min(width * 2, base_channels * 8)
        layers.append(nn.Conv2d(width, out_channels, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class MSEUNet(nn.Module):
    """The baseline: a U-Net from the dirty image to the sky, trained with MSE only."""

    architecture = "mse_unet"

    def __init__(self, *, base_channels=16, depth=3, norm="group"):
        super().__init__()
        self.config = {"base_channels": base_channels, "depth": depth, "norm": norm}
        self.net = UNet(1, 1, base_channels=base_channels, depth=depth, norm=norm)

    def reconstruct(self, dirty):
        """Sky (normalised) from the dirty image (normalised)."""
        return self.net(dirty)

    def forward(self, dirty):
        return self.reconstruct(dirty)


class TwoToOne(nn.Module):
    """2-to-1 content-style model: any two of (content, style, composite) give the third.

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
        `PixelNorm` (per pixel, so that tiled and whole-image results agree).
    content_channels : int, optional
        Width of the content generator (the network that runs at inference),
        if it should differ from ``base_channels``.
    """

    architecture = "two_to_one"

    def __init__(self, *, base_channels=16, depth=3, style_channels=4, style_levels=3, norm="group",
                 content_channels=None):  # fmt: skip
        super().__init__()
        content_channels = content_channels or base_channels
        self.config = {"base_channels": base_channels, "depth": depth, "style_channels": style_channels,
                       "style_levels": style_levels, "norm": norm, "content_channels": content_channels}  # fmt: skip
        self.style_channels = style_channels
        self.style_levels = style_levels
        sizes = {"base_channels": base_channels, "norm": norm}
        self.style_encoder = _Encoder(2, style_channels, levels=style_levels, **sizes)
        self.style_estimator = _Encoder(1, style_channels, levels=style_levels, **sizes)
        self.content_generator = UNet(1 + style_channels, 1, depth=depth, base_channels=content_channels, norm=norm)
        self.composite_generator = UNet(1 + style_channels, 1, depth=depth, **sizes)

    def _expand(self, style, like):
        return nnf.interpolate(style, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def encode_style(self, content, composite):
        """``E(c, x)``: the style that, with ``content``, explains ``composite`` (values in (-1, 1))."""
        return torch.tanh(self.style_encoder(torch.cat([content, composite], dim=1)))

    def estimate_style(self, composite):
        """``F(x)``: the centre of the plausible styles of a dirty image (values in (-1, 1))."""
        return torch.tanh(self.style_estimator(composite))

    def reconstruct(self, composite, style=None):
        """``G_c(s, x)``: the sky; with ``style=None`` the estimated style is used (direct mode)."""
        if style is None:
            style = self.estimate_style(composite)
        return self.content_generator(torch.cat([composite, self._expand(style, composite)], dim=1))

    def generate(self, content, style):
        """``G_x(c, s)``: a dirty image of sky ``content`` with noise ``style``."""
        return self.composite_generator(torch.cat([content, self._expand(style, content)], dim=1))

    def sample_reconstructions(self, composite, *, samples, sigma_style, generator=None):
        """``G_c(F(x) + sigma_s eps_k, x)`` for k = 1..samples: tensor ``(samples, batch, 1, H, W)``."""
        centre = self.estimate_style(composite)
        outputs = []
        for _ in range(samples):
            noise = torch.randn(centre.shape, generator=generator, device=centre.device, dtype=centre.dtype)
            outputs.append(self.reconstruct(composite, centre + sigma_style * noise))
        return torch.stack(outputs)

    def forward(self, composite):
        return self.reconstruct(composite)


ARCHITECTURES = {cls.architecture: cls for cls in (MSEUNet, TwoToOne)}
