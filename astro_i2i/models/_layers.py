"""Building blocks of the networks: U-Net, encoder, normalisation layers.

All tensors are ``(batch, channels, height, width)``; height and width must be multiples
of ``2**depth``.
"""

import torch
from torch import nn
from torch.nn import functional as nnf

__all__ = ["UNet", "PixelNorm"]


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


class _SiLU(nn.SiLU):
    """SiLU, in place where no gradient is taken (inference: one array fewer per layer)."""

    def forward(self, x):
        return nnf.silu(x, inplace=not torch.is_grad_enabled())


class _Block(nn.Module):
    """Two 3x3 convolutions with normalisation and SiLU, and a residual connection."""

    def __init__(self, in_channels, out_channels, norm="group"):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            _norm(norm, out_channels),
            _SiLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            _norm(norm, out_channels),
            _SiLU(),
        )
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x):
        out = self.body(x)
        if torch.is_grad_enabled():
            return out + self.skip(x)
        # In place at inference: the same numbers, and with the in-place SiLU 18 % less time for K = 10 on
        # a 256 x 256 network grid on the CPU (benchmarks/setups.py --speed).
        return out.add_(self.skip(x))


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
