"""Array-level reconstruction: dirty image in, sky samples out (no FITS, no catalogue)."""

import numpy as np
import torch

from ._tiling import TILE_MARGIN_FRACTION, tiled

__all__ = ["reconstruct_array", "reconstruct_sky"]


def _tile_generator(seed, index, device):
    return torch.Generator(device=device).manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))


def _memory_format(model):
    """``torch.channels_last`` for a model whose convolutions are (`Reconstructor` makes them so on the CPU)."""
    for weight in model.parameters():
        if weight.dim() == 4 and weight.shape[1] > 1 and weight.shape[-1] > 1:
            channels_last = weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
            return torch.channels_last if channels_last else torch.contiguous_format
    return torch.contiguous_format


@torch.no_grad()
def _network_skies(model, normalisation, tiles, indices, *, samples, sigma_style, seed, device):
    """Sky samples (Jy/pixel) ``(B, K, T, T)`` and style ``(B, C, t, t)`` or None for dirty tiles (Jy/beam)."""
    x = torch.from_numpy(normalisation.dirty_to_network(tiles)[:, None]).to(device)
    x = normalisation.to_network_grid(x, kind="dirty").contiguous(memory_format=_memory_format(model))
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
                      progress=None, min_tile=None):  # fmt: skip
    """Sky samples ``(K, H, W)`` (Jy/pixel) and the style of a dirty image array (Jy/beam); NaN where blanked.

    K is 1 for a deterministic model whatever ``samples`` says.

    Parameters
    ----------
    model : `~astro_i2i.models.SkyModel`
        The network.
    normalisation : `~astro_i2i.models.Normalisation`
        The model's normalisation (``card.normalisation``).
    dirty : `~numpy.ndarray`
        Dirty image ``(H, W)`` in Jy/beam on the model's pixel scale; NaN where blanked.
    samples : int
        Sky samples per pixel, K (used only by a stochastic model, and when > 1).
    sigma_style : float
        Spread of the style perturbation when sampling (0 for the estimated style).
    seed : int
        Seed; each tile draws from its own generator seeded by ``(seed, tile index)``.
    tile : int
        Tile size in pixels (`tiled`).
    batch_size : int
        Tiles run through the network at a time.
    device : str or `torch.device`
        torch device.
    progress : None, bool or callable, optional
        Progress over the tiles (`astro_i2i._progress`: True for a bar, or
        ``progress(done, total)``). Default None.
    min_tile : int, optional
        An image smaller than ``tile`` runs as one tile of its own size, or of
        ``min_tile`` if larger (`tiled`). Default None: padded to ``tile``.

    Returns
    -------
    skies : `~numpy.ndarray`
        Sky samples ``(K, H, W)``, float32, Jy/pixel; NaN where ``dirty`` is not finite.
    style : `~numpy.ndarray` or None
        The style ``(channels, h, w)`` on the model's coarser style grid, or
        None for a model without style.
    """

    def apply(tiles, indices):
        return _network_skies(model, normalisation, tiles, indices, samples=samples, sigma_style=sigma_style,
                              seed=seed, device=device)  # fmt: skip

    n_out = samples if (samples > 1 and model.stochastic) else 1
    margin = int(tile * TILE_MARGIN_FRACTION)
    skies, style = tiled(dirty, apply, tile=tile, margin=margin, ramp=margin, multiple=_multiple(model, normalisation),
                         batch_size=batch_size, n_out=n_out, style_factor=_style_factor(model, normalisation),
                         progress=progress, min_tile=min_tile)  # fmt: skip
    skies[:, ~np.isfinite(dirty)] = np.nan
    return skies, style


def reconstruct_sky(model, normalisation, dirty, *, samples=1, sigma_style=0.0, seed=0, device="cpu", tile=None,
                    batch_size=4):  # fmt: skip
    """Mean sky (Jy/pixel) and per-pixel standard deviation of a dirty image array (Jy/beam).

    The array-level core of `~astro_i2i.Reconstructor.reconstruct` (no FITS,
    no reprojection, no catalogue); ``tile`` defaults to the whole image.
    Blanked (NaN) pixels are NaN in both outputs.

    Parameters
    ----------
    model : `~astro_i2i.models.SkyModel`
        The network.
    normalisation : `~astro_i2i.models.Normalisation`
        The model's normalisation.
    dirty : `~numpy.ndarray`
        Dirty image ``(H, W)`` in Jy/beam on the model's pixel scale.
    samples : int, optional
        Sky samples K (stochastic models only). Default 1.
    sigma_style : float, optional
        Spread of the style perturbation. Default 0.0.
    seed : int, optional
        Seed. Default 0.
    device : str or `torch.device`, optional
        torch device. Default ``'cpu'``.
    tile : int, optional
        Tile size in pixels; default None, the whole image (rounded up to the
        model's size multiple).
    batch_size : int, optional
        Tiles run at a time. Default 4.

    Returns
    -------
    mean : `~numpy.ndarray`
        Mean of the sky samples ``(H, W)``, float64, Jy/pixel.
    std : `~numpy.ndarray`
        Per-pixel standard deviation of the samples ``(H, W)``, Jy/pixel; 0
        with a single sample.
    """
    if tile is None:
        multiple = _multiple(model, normalisation)
        tile = -(-max(dirty.shape) // multiple) * multiple
    skies, _ = reconstruct_array(model, normalisation, dirty, samples=samples, sigma_style=sigma_style, seed=seed,
                                 tile=tile, batch_size=batch_size, device=device)  # fmt: skip
    mean = skies.mean(axis=0, dtype=np.float64)
    std = skies.std(axis=0, dtype=np.float64) if len(skies) > 1 else np.where(np.isfinite(mean), 0.0, np.nan)
    return mean, std
