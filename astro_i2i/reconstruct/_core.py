"""Array-level reconstruction: dirty image in, sky samples out (no FITS, no catalogue)."""

import numpy as np
import torch

from ._tiling import TILE_MARGIN_FRACTION, tiled

__all__ = ["reconstruct_array", "reconstruct_sky"]


def _tile_generator(seed, index, device):
    return torch.Generator(device=device).manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))


@torch.no_grad()
def _network_skies(model, normalisation, tiles, indices, *, samples, sigma_style, seed, device):
    """Sky samples (Jy/pixel) ``(B, K, T, T)`` and style ``(B, C, t, t)`` or None for dirty tiles (Jy/beam)."""
    x = torch.from_numpy(normalisation.dirty_to_network(tiles)[:, None]).to(device)
    x = normalisation.to_network_grid(x, kind="dirty")
    generators = [_tile_generator(seed, index, device) for index in indices]
    skies, style = model.sample(x, samples, sigma_style=sigma_style, generators=generators)
    b, k = skies.shape[:2]
    flat = normalisation.sky_from_network(skies.reshape(b * k, 1, *skies.shape[-2:]).double())
    physical = normalisation.from_network_grid(flat, tiles.shape[-2:]).reshape(b, k, *tiles.shape[-2:])
    return physical.float().cpu().numpy(), None if style is None else style.float().cpu().numpy()


def _multiple(model, normalisation):
    return normalisation.downsample * model.multiple


def _style_factor(model, normalisation):
    return None if model.style_factor is None else normalisation.downsample * model.style_factor


def reconstruct_array(model, normalisation, dirty, *, samples, sigma_style, seed, tile, batch_size, device,
                      progress_bar=False):  # fmt: skip
    """Sky samples ``(K, H, W)`` (Jy/pixel) and the style of a dirty image array (Jy/beam); NaN where blanked.

    K is 1 for a deterministic model whatever ``samples`` says.
    """

    def apply(tiles, indices):
        return _network_skies(model, normalisation, tiles, indices, samples=samples, sigma_style=sigma_style,
                              seed=seed, device=device)  # fmt: skip

    n_out = samples if (samples > 1 and model.stochastic) else 1
    margin = int(tile * TILE_MARGIN_FRACTION)
    skies, style = tiled(dirty, apply, tile=tile, margin=margin, ramp=margin, multiple=_multiple(model, normalisation),
                         batch_size=batch_size, n_out=n_out, style_factor=_style_factor(model, normalisation),
                         progress_bar=progress_bar)  # fmt: skip
    skies[:, ~np.isfinite(dirty)] = np.nan
    return skies, style


def reconstruct_sky(model, normalisation, dirty, *, samples=1, sigma_style=0.0, seed=0, device="cpu", tile=None,
                    batch_size=4):  # fmt: skip
    """Mean sky (Jy/pixel) and per-pixel standard deviation of a dirty image array (Jy/beam).

    The array-level core of `~astro_i2i.Reconstructor.reconstruct` (no FITS,
    no reprojection, no catalogue); ``tile`` defaults to the whole image.
    Blanked (NaN) pixels are NaN in both outputs.
    """
    if tile is None:
        multiple = _multiple(model, normalisation)
        tile = -(-max(dirty.shape) // multiple) * multiple
    skies, _ = reconstruct_array(model, normalisation, dirty, samples=samples, sigma_style=sigma_style, seed=seed,
                                 tile=tile, batch_size=batch_size, device=device)  # fmt: skip
    mean = skies.mean(axis=0, dtype=np.float64)
    std = skies.std(axis=0, dtype=np.float64) if len(skies) > 1 else np.where(np.isfinite(mean), 0.0, np.nan)
    return mean, std
