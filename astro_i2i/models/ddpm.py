"""The DDPM baseline: a conditional denoising diffusion model of the sky given the dirty image.

As in the reference DDPM work (Drozdova et al. 2024, A&A 683, A105): a U-Net
conditioned by concatenating the dirty image to the noisy sky, the sky under
the power transform of `~astro_i2i.models.Normalisation` mapped to
``y = 2 s - 1`` (``s = (S / S_scale) ** 0.5``, so the empty sky is -1), the
dirty image scaled by about 10 noise sigma, on the 4x coarser network grid
(128 x 128 for a 512 x 512 image). Each sample is one reverse diffusion; their
mean is the sky and their spread the uncertainty.

Differences from the reference, for a model that trains on two CPU cores:

- a cosine noise schedule with v-prediction (Salimans & Ho 2022), which
  trains faster than the linear schedule and epsilon-prediction;
- the noise level enters as a constant input channel (``t / T``) rather than
  through a time embedding in every block;
- sampling with DDIM (Song et al. 2021, eta = 0: deterministic given the
  starting noise) on ``sampling_steps`` of the ``timesteps`` training levels,
  instead of 250 ancestral steps; the number of steps is a setting
  (`DDPM.sampling_steps`), so 250 can still be run.
"""

import math

import torch
from torch.nn import functional as nnf

from ._base import SkyModel, _noise
from ._layers import UNet

__all__ = ["DDPM"]


def _cosine_alpha_bar(t):
    """Cumulative signal fraction at continuous time ``t`` in [0, 1] (Nichol & Dhariwal 2021)."""
    s = 0.008
    return torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2


class DDPM(SkyModel):
    """Conditional diffusion model of the sky given the dirty image.

    Parameters
    ----------
    base_channels : int
    depth : int
    norm : {'group', 'pixel'}
    timesteps : int
        Noise levels of the training process (T).
    sampling_steps : int
        DDIM steps per sample at inference (at most ``timesteps``); change it
        on a loaded model with `DDPM.sampling_steps`.
    clip : float
        Upper bound of the predicted ``y`` at each step (the lower bound is
        -1, an empty sky); the brightest simulated network pixel is about 1.
    """

    architecture = "ddpm"
    stochastic = True
    default_samples = 20  #: as in the reference DDPM work

    def __init__(self, *, base_channels=32, depth=3, norm="pixel", timesteps=1000, sampling_steps=25, clip=1.5):
        super().__init__()
        if not 1 <= sampling_steps <= timesteps:
            raise ValueError(f"sampling_steps must be in [1, timesteps={timesteps}], not {sampling_steps!r}")
        self.timesteps = timesteps
        self.sampling_steps = sampling_steps
        self.clip = clip
        self.net = UNet(3, 1, base_channels=base_channels, depth=depth, norm=norm)

    def _alpha_bar(self, t):
        """``alpha_bar`` at integer levels ``t`` in [0, T] (t = 0 is the clean sky)."""
        return _cosine_alpha_bar(t.float() / self.timesteps).clamp(1e-5, 1.0)

    def _v(self, y_t, dirty, t):
        level = (t.float() / self.timesteps).reshape(-1, 1, 1, 1).expand_as(y_t)
        return self.net(torch.cat([y_t, dirty, level], dim=1))

    def loss(self, dirty, sky, weights):
        """MSE of the predicted velocity ``v = sqrt(a) eps - sqrt(1 - a) y`` at a random level.

        Parameters
        ----------
        dirty, sky : `torch.Tensor`
            ``(N, 1, H, W)`` normalised network-grid tensors (``y = 2 sky - 1``).
        weights : dict
            The training config's ``losses`` section (unused).

        Returns
        -------
        total : `torch.Tensor`
            The loss.
        parts : dict of float
            ``{'v': loss}``.
        """
        y = 2 * sky - 1
        t = torch.randint(1, self.timesteps + 1, (len(y),), device=y.device)
        a = self._alpha_bar(t).reshape(-1, 1, 1, 1)
        eps = torch.randn_like(y)
        y_t = a.sqrt() * y + (1 - a).sqrt() * eps
        loss = nnf.mse_loss(self._v(y_t, dirty, t), a.sqrt() * eps - (1 - a).sqrt() * y)
        return loss, {"v": float(loss.detach())}

    def _levels(self):
        steps = int(self.sampling_steps)
        if not 1 <= steps <= self.timesteps:
            raise ValueError(f"sampling_steps must be in [1, {self.timesteps}], not {steps!r}")
        return torch.linspace(self.timesteps, 0, steps + 1).round().long()

    def _reverse(self, dirty, y):
        """DDIM (eta = 0) from pure noise ``y`` at level T to the clean sky, y-space."""
        levels = self._levels()
        for t, t_next in zip(levels[:-1].tolist(), levels[1:].tolist()):
            t_batch = torch.full((len(y),), t, device=y.device)
            a = self._alpha_bar(t_batch).reshape(-1, 1, 1, 1)
            v = self._v(y, dirty, t_batch)
            y0 = (a.sqrt() * y - (1 - a).sqrt() * v).clamp(-1.0, self.clip)
            eps = (y - a.sqrt() * y0) / (1 - a).sqrt()
            if t_next == 0:
                y = y0
            else:
                a_next = self._alpha_bar(torch.full_like(t_batch, t_next)).reshape(-1, 1, 1, 1)
                y = a_next.sqrt() * y0 + (1 - a_next).sqrt() * eps
        return y

    def sample(self, dirty, samples, *, sigma_style=0.0, generators=None):
        """K reverse diffusions per dirty image (the starting noise from ``generators``); no style.

        Parameters
        ----------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.
        samples : int
            K (at least 1).
        sigma_style : float, optional
            Ignored (no style).
        generators : list of `torch.Generator`, optional
            One per batch element, for the starting noise.

        Returns
        -------
        skies : `torch.Tensor`
            ``(B, K, 1, H, W)`` normalised skies, clipped at 0 below.
        style : None
        """
        samples = max(int(samples), 1)
        noise = torch.cat([_noise((samples, *dirty.shape[1:]), None if generators is None else generators[b], dirty)
                           for b in range(len(dirty))])  # fmt: skip
        y = self._reverse(dirty.repeat_interleave(samples, dim=0), noise)
        skies = ((y + 1) / 2).clamp(min=0.0)
        return skies.reshape(len(dirty), samples, *dirty.shape[1:]), None
