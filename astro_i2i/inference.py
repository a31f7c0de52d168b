"""Reconstruction with trained models: tiles, uncertainty, catalogue, generation (needs torch).

`Reconstructor` is what pipelines use; ``astro-i2i reconstruct`` and
``astro-i2i generate`` are thin wrappers around it. Images of any size are cut
into overlapping tiles of the size the model was trained on; each tile's
outputs next to its inner edges are dropped and neighbours cross-fade with
raised-cosine weights; blanked pixels are filled with zero for the network and
NaN again in every output.
"""

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS
from radio_beam import Beam
from scipy.spatial import cKDTree

from ._version import __version__
from .catalog import _beam_area_pixels, find_sources, sky_model_threshold
from .exceptions import InputError
from .io import RadioImage, read_image, read_sky_image, write_products
from .metrics import DEFAULT_MATCH_RADIUS
from .models import load_checkpoint
from .models.checkpoint import file_checksum

__all__ = ["Reconstructor", "Reconstruction", "reconstruct_sky"]

logger = logging.getLogger(__name__)

#: Each tile drops this fraction of its size at its inner edges, and neighbours
#: cross-fade over the same width again: 64 + 64 pixels for 512 x 512 tiles.
TILE_MARGIN_FRACTION = 1 / 8
#: Input pixel scales within this fraction of the model's are used as they are.
PIXEL_SCALE_TOLERANCE = 0.10
#: Input beams more than this factor from the model's are refused (unless forced).
BEAM_RATIO_LIMIT = 2.0


# --------------------------------------------------------------------------- core


def _tile_starts(length, tile, overlap):
    if length <= tile:
        return [0]
    stride = tile - overlap
    return sorted(set(range(0, length - tile, stride)) | {length - tile})


def _edge_weights(start, tile, length, margin, ramp):
    """1-D blending weights of one tile: 0 over ``margin`` pixels at an edge inside the image (where
    the network saw zero padding instead of the neighbours), then a raised-cosine ramp, then 1."""
    w = np.ones(tile, dtype=np.float32)
    rise = (0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)).astype(np.float32)
    if start > 0:
        w[:margin] = 0
        w[margin : margin + ramp] = rise
    if start + tile < length:
        w[tile - margin :] = 0
        w[tile - margin - ramp : tile - margin] = np.minimum(w[tile - margin - ramp : tile - margin], rise[::-1])
    return w


def _tiled(image, apply, *, tile, margin, ramp, multiple, batch_size, n_out, style_factor=None,
           progress_bar=False):  # fmt: skip
    """Run ``apply`` over overlapping tiles of a 2-D image and blend the results.

    Neighbouring tiles overlap by ``2 * margin + ramp`` pixels: each drops the
    ``margin`` pixels next to its inner edges and the two cross-fade over
    ``ramp`` pixels (raised cosine, weights summing to 1).
    ``apply(tiles, indices)`` takes a float32 array ``(B, tile, tile)`` and the
    tiles' indices and returns ``(outputs (B, n_out, tile, tile), style)``,
    ``style`` being None or ``(B, C, tile / style_factor, tile / style_factor)``.
    Returns the blended ``(n_out, H, W)`` outputs and ``(C, h, w)`` style (or None).
    """
    ny, nx = image.shape
    pad_y = max(tile, -(-ny // multiple) * multiple)
    pad_x = max(tile, -(-nx // multiple) * multiple)
    padded = np.zeros((pad_y, pad_x), dtype=np.float32)
    padded[:ny, :nx] = np.nan_to_num(image)
    overlap = 2 * margin + ramp
    corners = [(y, x) for y in _tile_starts(pad_y, tile, overlap) for x in _tile_starts(pad_x, tile, overlap)]
    total = np.zeros((n_out, pad_y, pad_x), dtype=np.float32)
    weight = np.zeros((pad_y, pad_x), dtype=np.float32)
    style_total = style_weight = None
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(corners), desc="tiles", unit="tile", dynamic_ncols=True)
    for first in range(0, len(corners), batch_size):
        batch = corners[first : first + batch_size]
        tiles = np.stack([padded[y : y + tile, x : x + tile] for y, x in batch])
        outputs, style = apply(tiles, list(range(first, first + len(batch))))
        for (y, x), out in zip(batch, outputs):
            window = np.outer(_edge_weights(y, tile, pad_y, margin, ramp), _edge_weights(x, tile, pad_x, margin, ramp))
            total[:, y : y + tile, x : x + tile] += out * window
            weight[y : y + tile, x : x + tile] += window
        if style is not None:
            f, ts = style_factor, style.shape[-1]
            if style_total is None:
                style_total = np.zeros((style.shape[1], pad_y // f, pad_x // f), dtype=np.float32)
                style_weight = np.zeros((pad_y // f, pad_x // f), dtype=np.float32)
            m, r = margin // f, max(1, ramp // f)
            for (y, x), st in zip(batch, style):
                window = np.outer(_edge_weights(y // f, ts, pad_y // f, m, r), _edge_weights(x // f, ts, pad_x // f, m, r))
                style_total[:, y // f : y // f + ts, x // f : x // f + ts] += st * window
                style_weight[y // f : y // f + ts, x // f : x // f + ts] += window
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    blended = total / weight
    style_map = None
    if style_total is not None:
        f = style_factor
        style_map = (style_total / np.maximum(style_weight, 1e-12))[:, : -(-ny // f), : -(-nx // f)]
    return blended[:, :ny, :nx], style_map


def _tile_generator(seed, index, device):
    return torch.Generator(device=device).manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))


@torch.no_grad()
def _network_skies(model, normalisation, tiles, indices, *, samples, sigma_style, seed, device):
    """Sky samples (Jy/pixel) ``(B, samples, T, T)`` and style ``(B, C, t, t)`` or None for dirty tiles (Jy/beam)."""
    x = torch.from_numpy(normalisation.dirty_to_network(tiles)[:, None]).to(device)
    x = normalisation.to_network_grid(x, kind="dirty")
    style = None
    if model.architecture == "mse_unet":
        skies = model.reconstruct(x)[:, None]
    else:
        style = model.estimate_style(x)
        if samples <= 1:
            skies = model.reconstruct(x, style)[:, None]
        else:
            per_tile = []
            for b, index in enumerate(indices):
                generator = _tile_generator(seed, index, device)
                noise = torch.randn((samples, *style.shape[1:]), generator=generator, device=device)
                styles = style[b : b + 1] + sigma_style * noise
                per_tile.append(model.reconstruct(x[b : b + 1].expand(samples, -1, -1, -1), styles)[:, 0])
            skies = torch.stack(per_tile)
    b, k = skies.shape[:2]
    flat = normalisation.sky_from_network(skies.reshape(b * k, 1, *skies.shape[-2:]).double())
    physical = normalisation.from_network_grid(flat, tiles.shape[-2:]).reshape(b, k, *tiles.shape[-2:])
    return physical.float().cpu().numpy(), None if style is None else style.float().cpu().numpy()


def _model_multiple(model, normalisation):
    return normalisation.downsample * 2 ** model.config["depth"]


def _style_factor(model, normalisation):
    if model.architecture == "mse_unet":
        return None
    return normalisation.downsample * 2 ** model.config["style_levels"]


def _reconstruct_array(model, normalisation, dirty, *, samples, sigma_style, seed, tile, batch_size, device,
                       progress_bar=False):  # fmt: skip
    """Sky samples ``(K, H, W)`` (Jy/pixel) and style of a dirty image array (Jy/beam); NaN where blanked."""

    def apply(tiles, indices):
        return _network_skies(model, normalisation, tiles, indices, samples=samples, sigma_style=sigma_style,
                              seed=seed, device=device)  # fmt: skip

    n_out = 1 if (samples <= 1 or model.architecture == "mse_unet") else samples
    margin = int(tile * TILE_MARGIN_FRACTION)
    skies, style = _tiled(dirty, apply, tile=tile, margin=margin, ramp=margin,
                          multiple=_model_multiple(model, normalisation), batch_size=batch_size, n_out=n_out,
                          style_factor=_style_factor(model, normalisation), progress_bar=progress_bar)  # fmt: skip
    skies[:, ~np.isfinite(dirty)] = np.nan
    return skies, style


def reconstruct_sky(model, normalisation, dirty, *, samples=1, sigma_style=0.0, seed=0, device="cpu", tile=None,
                    batch_size=4):  # fmt: skip
    """Mean sky (Jy/pixel) and per-pixel standard deviation of a dirty image array (Jy/beam).

    The array-level core of `Reconstructor.reconstruct` (no FITS, no
    reprojection, no catalogue); ``tile`` defaults to the whole image.
    Blanked (NaN) pixels are NaN in both outputs.
    """
    if tile is None:
        multiple = _model_multiple(model, normalisation)
        tile = -(-max(dirty.shape) // multiple) * multiple
    skies, _ = _reconstruct_array(model, normalisation, dirty, samples=samples, sigma_style=sigma_style, seed=seed,
                                  tile=tile, batch_size=batch_size, device=device)  # fmt: skip
    mean = skies.mean(axis=0, dtype=np.float64)
    std = skies.std(axis=0, dtype=np.float64) if len(skies) > 1 else np.where(np.isfinite(mean), 0.0, np.nan)
    return mean, std


# --------------------------------------------------------------------------- public API


@dataclass
class Reconstruction:
    """The result of `Reconstructor.reconstruct`.

    Attributes
    ----------
    sky : `~numpy.ndarray`
        Sky model, Jy/pixel, on the input's grid; NaN where the input is blanked.
    uncertainty : `~numpy.ndarray` or None
        Per-pixel standard deviation of the style samples (None in direct mode).
    style : `~numpy.ndarray` or None
        The estimated style, ``(channels, ny, nx)`` on a coarser grid.
    catalog : `~astropy.table.QTable`
        Sources found in ``sky`` (`astro_i2i.catalog.CATALOG_COLUMNS`).
    image : `~astro_i2i.io.RadioImage`
        The input (grid, WCS, beam, header).
    provenance : dict
        Model, checksum, samples, seed, input.
    """

    sky: np.ndarray
    uncertainty: np.ndarray | None
    style: np.ndarray | None
    catalog: object
    image: RadioImage
    provenance: dict = field(default_factory=dict)

    @property
    def wcs(self):
        return self.image.wcs

    @property
    def header(self):
        return self.image.header

    def write(self, path, *, overwrite=False):
        """Write the product file (`astro_i2i.io.write_products`): SKY, UNCERTAINTY, STYLE, CATALOG."""
        return write_products(path, self.sky, image=self.image, uncertainty=self.uncertainty, style=self.style,
                              catalog=self.catalog, provenance=self.provenance, overwrite=overwrite)  # fmt: skip


def _models_dir():
    from .data import _data_dir

    return _data_dir() / "models"


class Reconstructor:
    """A trained model, ready to reconstruct dirty images.

    Use `from_pretrained` to build one.
    """

    def __init__(self, model, info, *, name, path, device="cpu"):
        self.model = model.eval()
        self.info = info
        self.name = name
        self.path = Path(path)
        self.device = torch.device(device)
        self.normalisation = info["normalisation"]
        simulation = info["simulation"] or {}
        self.pixel_scale = simulation.get("image", {}).get("pixel_scale_arcsec", 0.1) * u.arcsec
        self.tile = int(simulation.get("image", {}).get("size", 512))
        beam = simulation.get("beam")
        self.beam = None if beam is None else Beam(beam[0] * u.arcsec, beam[1] * u.arcsec, beam[2] * u.deg)
        self.checksum = info.get("checksum") or file_checksum(path)

    def __repr__(self):
        return f"<Reconstructor {self.name!r}: {self.model.architecture}, {self.device}>"

    @staticmethod
    def available_models():
        """Names of the models that ship with astro-i2i (the first is the default), with a description."""
        described = {"two_to_one": "2-to-1 content-style model (default)", "mse": "MSE-only U-Net baseline"}
        present = {p.stem for p in _models_dir().glob("*.pt")}
        return {name: text for name, text in described.items() if name in present} | {
            name: "" for name in sorted(present - set(described))
        }

    @classmethod
    def from_pretrained(cls, name_or_path=None, *, device=None):
        """Load a shipped model by name, or a checkpoint written by ``astro-i2i train``.

        Parameters
        ----------
        name_or_path : str or path-like, optional
            A name from `available_models` (default: the first) or a ``.pt`` path.
        device : str, optional
            torch device; default ``'cpu'``.
        """
        device = device or "cpu"
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise InputError("device", f"{device!r} asked for, but torch sees no GPU")
        if name_or_path is None:
            available = cls.available_models()
            if not available:
                raise InputError(_models_dir(), "no shipped model in this installation")
            name_or_path = next(iter(available))
        path = Path(name_or_path)
        if not (path.suffix == ".pt" or path.exists()):
            path = _models_dir() / f"{name_or_path}.pt"
            if not path.exists():
                raise InputError(name_or_path, f"no such model file or shipped model; shipped: "
                                               f"{', '.join(cls.available_models()) or 'none'}")  # fmt: skip
        model, info = load_checkpoint(path, device=device)
        name = path.stem if path.parent == _models_dir() else str(path)
        return cls(model, info, name=name, path=path, device=device)

    # ------------------------------------------------------------------ helpers

    def _check_beam(self, image, force):
        if image.beam is None:
            warnings.warn(f"{image.name}: no beam in the header and none given; assuming the model's "
                          f"({_beam_text(self.beam)})", stacklevel=3)  # fmt: skip
            return
        if self.beam is None:
            return
        ratio = max(image.beam.major / self.beam.major, self.beam.major / image.beam.major,
                    image.beam.minor / self.beam.minor, self.beam.minor / image.beam.minor)  # fmt: skip
        if ratio > BEAM_RATIO_LIMIT:
            message = (f"beam {_beam_text(image.beam)} differs from the model's {_beam_text(self.beam)} by a factor "
                       f"{float(ratio):.2f} (> {BEAM_RATIO_LIMIT:g}); use force=True (--force) to go on")  # fmt: skip
            if not force:
                raise InputError(image.name, message)
            logger.warning("%s: %s", image.name, message.split(";")[0] + "; forced")

    def _model_grid(self, image):
        """The input's data and WCS on the model's pixel scale (reprojected if it differs by > 10 %)."""
        scale = image.pixel_scale.to_value(u.arcsec)
        target = self.pixel_scale.to_value(u.arcsec)
        if abs(scale / target - 1) <= PIXEL_SCALE_TOLERANCE:
            return image.data, image.wcs, False
        from reproject import reproject_interp

        factor = scale / target
        header = image.wcs.to_header()
        wcs = WCS(header)
        if wcs.wcs.has_cd():
            wcs.wcs.cd = wcs.wcs.cd / factor
        else:
            wcs.wcs.cdelt = wcs.wcs.cdelt / factor
        wcs.wcs.crpix = (np.asarray(image.wcs.wcs.crpix) - 0.5) * factor + 0.5
        shape = tuple(int(np.ceil(n * factor)) for n in image.data.shape)
        data, _ = reproject_interp((image.data, image.wcs), wcs, shape_out=shape)
        logger.info("%s: reprojected from %.4g\" to the model's %.4g\" pixels", image.name, scale, target)
        return data.astype(np.float32), wcs, True

    def _back_to_input(self, arrays, grid_wcs, image):
        """Jy/pixel maps on the model's grid -> the input's grid, conserving flux per unit area."""
        from reproject import reproject_interp

        ratio = (image.pixel_scale / self.pixel_scale).to_value(u.one) ** 2
        out = []
        for array in arrays:
            back, _ = reproject_interp((np.nan_to_num(array), grid_wcs), image.wcs, shape_out=image.data.shape)
            out.append((back * ratio).astype(np.float32))
        return out

    def _batch_size(self, batch_size):
        if batch_size is not None:
            if int(batch_size) < 1:
                raise ValueError(f"batch_size must be >= 1, not {batch_size!r}")
            return int(batch_size)
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            return max(1, min(32, int(free // (2 * 1024**3))))
        return 2

    # ------------------------------------------------------------------ public

    def reconstruct(self, image, *, samples=10, seed=None, psf=None, beam=None, hdu=None, batch_size=None,
                    force=False, progress_bar=False):  # fmt: skip
        """Reconstruct the sky model of a dirty image, with its uncertainty and a source catalogue.

        Parameters
        ----------
        image : str, path-like, HDUList, HDU, ``(array, header)`` or `~astro_i2i.io.RadioImage`
            The dirty image (Jy/beam), in any form `astro_i2i.io.read_image` takes.
        samples : int, optional
            Style samples K; 1 is the direct mode (one network run, no uncertainty).
        seed : int, optional
            Seed of the style samples; drawn at random (and recorded) if None.
        psf, beam, hdu : optional
            As for `astro_i2i.io.read_image`.
        batch_size : int, optional
            Tiles per network call; chosen from the device if None.
        force : bool, optional
            Go on even if the input's beam differs from the model's by more than a factor 2.
        progress_bar : bool, optional
            Show a tqdm bar over tiles.

        Returns
        -------
        reconstruction : `Reconstruction`
        """
        if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
            raise ValueError(f"samples must be a positive integer, not {samples!r}")
        if not isinstance(image, RadioImage):
            image = read_image(image, hdu=hdu, psf=psf, beam=beam)
        self._check_beam(image, force)
        if np.all(np.isnan(image.data)):
            raise InputError(image.name, "every pixel is blank (NaN)")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        if self.model.architecture == "mse_unet" and samples > 1:
            logger.info("the MSE baseline has no style: one run, no uncertainty map")
            samples = 1
        sigma_style = float(self.info["inference"].get("sigma_style", 0.0))
        data, grid_wcs, reprojected = self._model_grid(image)
        skies, style = _reconstruct_array(self.model, self.normalisation, data, samples=samples,
                                          sigma_style=sigma_style, seed=seed, tile=self.tile,
                                          batch_size=self._batch_size(batch_size), device=self.device,
                                          progress_bar=progress_bar)  # fmt: skip
        if reprojected:
            skies = np.stack(self._back_to_input(list(skies), grid_wcs, image))
            skies[:, ~np.isfinite(image.data)] = np.nan
        sky = skies.mean(axis=0)
        uncertainty = skies.std(axis=0) if samples > 1 else None
        catalog = self._catalog(sky, uncertainty, skies if samples > 1 else None, image)
        provenance = {"model": self.name, "model_checksum": self.checksum, "samples": int(samples),
                      "seed": int(seed), "input": image.name}  # fmt: skip
        return Reconstruction(sky=sky, uncertainty=uncertainty, style=style, catalog=catalog, image=image,
                              provenance=provenance)  # fmt: skip

    def detection_threshold(self, dirty, image, *, samples):
        """The sky-model detection threshold (Jy/pixel) for ``dirty`` on ``image``'s grid."""
        key = "detection_nsigma_samples" if samples > 1 else "detection_nsigma"
        inference = self.info["inference"]
        nsigma = float(inference.get(key, inference.get("detection_nsigma", 1.0)))
        beam = self.beam if self.beam is not None else image.beam
        if beam is None:
            raise InputError(image.name, "no beam known to set the detection threshold")
        return sky_model_threshold(dirty, _beam_area_pixels(beam, image.wcs), nsigma=nsigma)

    def _catalog(self, sky, uncertainty, skies, image):
        samples = 1 if skies is None else len(skies)
        threshold = self.detection_threshold(image.data, image, samples=samples)
        catalog = find_sources(sky, image.wcs, uncertainty=uncertainty, threshold=threshold)
        catalog.meta["thresh"] = f"{threshold:.4g} Jy/pixel (sky_model_threshold)"
        if skies is not None and len(catalog):
            radius = (DEFAULT_MATCH_RADIUS / image.pixel_scale).to_value(u.one)
            positions = np.column_stack([catalog["x"].value, catalog["y"].value])
            found = np.zeros(len(catalog))
            for sample in skies:
                detected = find_sources(sample, image.wcs, threshold=threshold)
                if len(detected):
                    tree = cKDTree(np.column_stack([detected["x"].value, detected["y"].value]))
                    found += np.isfinite(tree.query(positions, distance_upper_bound=radius)[0])
            catalog["detection_fraction"] = found / len(skies)
        return catalog

    @torch.no_grad()
    def estimate_style(self, image, *, hdu=None):
        """The estimated style ``(channels, ny, nx)`` of a dirty image (in any form `read_image` takes)."""
        if self.model.architecture == "mse_unet":
            raise InputError(self.name, "the MSE baseline has no style")
        if not isinstance(image, RadioImage):
            image = read_image(image, hdu=hdu)
        data, _, _ = self._model_grid(image)
        _, style = _reconstruct_array(self.model, self.normalisation, data, samples=1, sigma_style=0.0, seed=0,
                                      tile=self.tile, batch_size=self._batch_size(None), device=self.device)  # fmt: skip
        return style

    @torch.no_grad()
    def generate(self, sky, *, style=None, style_from=None, seed=None, hdu=None):
        """A dirty image (Jy/beam) of a sky model with a given or random style.

        Parameters
        ----------
        sky : path, HDU, ``(array, header)`` or `~astro_i2i.io.RadioImage`
            Sky model in Jy/pixel on the model's pixel scale.
        style : `~numpy.ndarray`, optional
            A style ``(channels, ny, nx)``, e.g. from `estimate_style`; resampled to the sky's grid.
        style_from : optional
            A dirty image whose estimated style is used.
        seed : int, optional
            With neither ``style`` nor ``style_from``, the style of a noise-only
            image simulated with this seed (the model's instrument) is used.

        Returns
        -------
        dirty : `~astropy.io.fits.PrimaryHDU`
            The generated dirty image with the sky's WCS, BUNIT Jy/beam and the model's beam.
        """
        if self.model.architecture == "mse_unet":
            raise InputError(self.name, "the MSE baseline cannot generate (it has no composite generator)")
        if style is not None and style_from is not None:
            raise ValueError("give style or style_from, not both")
        if not isinstance(sky, RadioImage):
            sky = read_sky_image(sky, hdu=hdu)
        if sky.unit != u.Jy / u.pixel:
            raise InputError(sky.name, f"a sky model must be in Jy/pixel, not {sky.unit}")
        if abs(sky.pixel_scale.to_value(u.arcsec) / self.pixel_scale.to_value(u.arcsec) - 1) > PIXEL_SCALE_TOLERANCE:
            raise InputError(sky.name, f"pixel scale {sky.pixel_scale.to_value(u.arcsec):.4g}\" differs from the "
                                       f"model's {self.pixel_scale.to_value(u.arcsec):.4g}\"")  # fmt: skip
        if style_from is not None:
            style = self.estimate_style(style_from)
        elif style is None:
            style = self.estimate_style(self._noise_image(sky.data.shape, seed))
        style = np.asarray(style, dtype=np.float32)
        if style.ndim != 3 or style.shape[0] != self.model.style_channels:
            raise ValueError(f"style must have shape (channels={self.model.style_channels}, ny, nx), "
                             f"not {style.shape}")  # fmt: skip
        norm, model = self.normalisation, self.model
        multiple = _model_multiple(model, norm)
        ny, nx = sky.data.shape
        pad_y, pad_x = -(-ny // multiple) * multiple, -(-nx // multiple) * multiple
        content = np.zeros((pad_y, pad_x), dtype=np.float32)
        content[:ny, :nx] = np.nan_to_num(sky.data)
        c = norm.to_network_grid(torch.from_numpy(content)[None, None].to(self.device), kind="sky")
        c = norm.sky_to_network(c)
        s = torch.from_numpy(style)[None].to(self.device)
        s = torch.nn.functional.interpolate(s, size=(pad_y // _style_factor(model, norm),
                                                     pad_x // _style_factor(model, norm)), mode="bilinear")  # fmt: skip
        x = model.generate(c, s)
        dirty = norm.dirty_from_network(torch.nn.functional.interpolate(x, size=(pad_y, pad_x), mode="bicubic"))
        dirty = dirty[0, 0, :ny, :nx].cpu().numpy().astype(np.float32)
        dirty[~np.isfinite(sky.data)] = np.nan
        header = sky.wcs.to_header()
        header["BUNIT"] = "Jy/beam"
        if self.beam is not None:
            header.update(self.beam.to_header_keywords())
        header["ORIGIN"] = "astro-i2i"
        header["I2IVER"] = (__version__, "astro-i2i version")
        header["I2IMODEL"] = (self.name, "model name")
        header["HISTORY"] = "astro-i2i generate: dirty image from a sky model and a style"
        return fits.PrimaryHDU(dirty, header=header)

    def _noise_image(self, shape, seed):
        """A noise-only dirty image of the model's instrument, as ``(array, header)``."""
        from .simulate import Observation, SimulationConfig, image_wcs

        record = {k: v for k, v in (self.info["simulation"] or {}).items() if k != "beam"}
        config = SimulationConfig.from_dict(record)
        rng = np.random.default_rng(seed)
        dec = config.pointing.dec_deg
        observation = Observation(config, dec)
        noise = observation.noise_field(rng).astype(np.float32)
        noise[observation.blank_mask] = np.nan
        header = image_wcs(config, config.pointing.ra_deg, dec).to_header()
        header["BUNIT"] = "Jy/beam"
        if self.beam is not None:
            header.update(self.beam.to_header_keywords())
        return noise, header


def _beam_text(beam):
    if beam is None:
        return "none"
    return f"{beam.major.to_value(u.arcsec):.3g}\" x {beam.minor.to_value(u.arcsec):.3g}\""
