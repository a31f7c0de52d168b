"""Spectral cubes: each channel reconstructed with its own beam and noise, written a block at a time."""

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.table import QTable, vstack

from ..exceptions import AstroI2IWarning
from ..io import CubeProductWriter, RadioCube, read_cube

__all__ = ["reconstruct_cube", "merge_channels", "CubeReconstruction", "ChannelWarning", "CUBE_BLOCK"]

logger = logging.getLogger(__name__)

#: Channels reconstructed between two writes: memory holds this many planes of each product.
CUBE_BLOCK = 8
#: Detections in different channels within this many beam FWHMs are one source in CATALOG_SOURCES.
MERGE_RADIUS_BEAMS = 0.5


class ChannelWarning(AstroI2IWarning):
    """A channel of a cube could not be reconstructed (all blank or all zero) and is passed through as NaN."""


@dataclass
class CubeReconstruction:
    """The result of `Reconstructor.reconstruct` on a cube, in memory (`reconstruct_cube` streams to a file)."""

    sky: np.ndarray
    uncertainty: np.ndarray | None
    style: np.ndarray | None
    catalog: QTable
    sources: QTable
    cube: RadioCube
    provenance: dict = field(default_factory=dict)

    def __repr__(self):
        mode = "direct" if self.uncertainty is None else f"K = {self.provenance.get('samples')}"
        return (f"<CubeReconstruction of {self.cube.name}: {'x'.join(map(str, self.sky.shape))} sky, {mode}, "
                f"{len(self.catalog)} detection(s), {len(self.sources)} source(s)>")  # fmt: skip

    def write(self, path, *, overwrite=False):
        """Write the cube product file (SKY, UNCERTAINTY, STYLE cubes, BEAMS, CATALOG, CATALOG_SOURCES)."""
        with CubeProductWriter(path, self.cube, provenance=self.provenance, overwrite=overwrite) as writer:
            writer.write(0, self.sky, self.uncertainty, self.style)
            return writer.finish(self.catalog, self.sources)


def _spectral_column(cube):
    unit = cube.spectral_axis.unit
    if unit.is_equivalent(u.Hz):
        return "freq", u.GHz
    if unit.is_equivalent(u.m / u.s):
        return "velocity", u.km / u.s
    return "spectral", unit


def _channels(reconstructor, cube, *, samples, seed, min_reliability, primary_beam, force, steps):
    """Per channel: (sky, uncertainty or None, style or None, catalogue with channel columns, provenance)."""
    column, unit = _spectral_column(cube)
    seen = set()
    for index in range(cube.nchan):
        image = cube.channel(index)
        finite = np.isfinite(image.data)
        if not finite.any() or not np.any(image.data[finite]):
            warnings.warn(f"{cube.name}: channel {index} is all {'blank' if not finite.any() else 'zero'}; "
                          "passed through as NaN", ChannelWarning, stacklevel=4)  # fmt: skip
            yield index, None
            continue
        # The seed follows the channel, not the order or the worker: any split of the cube gives the same planes.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = reconstructor.reconstruct(image, samples=samples, seed=seed + index, primary_beam=primary_beam,
                                               min_reliability=min_reliability, force=force, steps=steps)  # fmt: skip
        for warning in caught:  # each distinct warning once per cube, not once per channel
            key = (warning.category, str(warning.message).replace(image.name, cube.name))
            if key not in seen:
                seen.add(key)
                warnings.warn(key[1], warning.category, stacklevel=4)
        catalog = QTable(result.catalog)
        catalog["channel"] = np.full(len(catalog), index, dtype=int)
        catalog[column] = np.full(len(catalog), cube.spectral_axis[index].to_value(unit)) * unit
        result.catalog = catalog
        yield index, result


def merge_channels(catalog, *, beam_fwhm, channel_width):
    """Merge a cube catalogue's detections of the same source across channels (`CATALOG_SOURCES`).

    Detections are taken brightest first; each unassigned one gathers every
    unassigned detection within `MERGE_RADIUS_BEAMS` beams of it (one per
    channel, the closest).

    Parameters
    ----------
    catalog : `~astropy.table.QTable`
        With ``ra``, ``dec``, ``flux``, ``channel`` and a spectral column.
    beam_fwhm : `~astropy.units.Quantity`
    channel_width : `~astropy.units.Quantity`
        The spectral axis' step (its absolute value is used).

    Returns
    -------
    sources : `~astropy.table.QTable`
        ``id``, ``ra``, ``dec`` (flux-weighted), ``peak_channel``, the spectral
        coordinate of that channel, ``flux_peak``, ``flux_integrated`` (sum of
        flux x channel width) and ``n_channels``.
    """
    spectral = [name for name in ("freq", "velocity", "spectral") if name in catalog.colnames]
    spectral_unit = catalog[spectral[0]].unit if spectral else u.one
    width = abs(channel_width)
    integrated_unit = u.Jy * (width.to(u.km / u.s).unit if width.unit.is_equivalent(u.m / u.s) else width.unit)
    names = ("id", "ra", "dec", "peak_channel", "peak_" + (spectral[0] if spectral else "spectral"), "flux_peak",
             "flux_integrated", "n_channels")  # fmt: skip
    if not len(catalog):
        return QTable({name: np.zeros(0, dtype=int if name in ("id", "peak_channel", "n_channels") else float)
                       for name in names})  # fmt: skip
    ra = u.Quantity(catalog["ra"], u.deg).value
    dec = u.Quantity(catalog["dec"], u.deg).value
    flux = u.Quantity(catalog["flux"], u.Jy).value
    channel = np.asarray(catalog["channel"], dtype=int)
    radius = (MERGE_RADIUS_BEAMS * beam_fwhm).to_value(u.deg)
    assigned = np.full(len(catalog), -1)
    rows = []
    for seed in np.argsort(-flux):
        if assigned[seed] >= 0:
            continue
        dx = (ra - ra[seed]) * np.cos(np.radians(dec[seed]))
        distance = np.hypot(dx, dec - dec[seed])
        group = []
        for chan in np.unique(channel[(assigned < 0) & (distance <= radius)]):
            members = np.flatnonzero((assigned < 0) & (distance <= radius) & (channel == chan))
            group.append(members[np.argmin(distance[members])])
        group = np.asarray(group)
        assigned[group] = len(rows)
        weights = np.clip(flux[group], 0, None)
        weights = weights if weights.sum() > 0 else np.ones(len(group))
        peak = group[np.argmax(flux[group])]
        rows.append((len(rows) + 1, np.average(ra[group], weights=weights), np.average(dec[group], weights=weights),
                     channel[peak], u.Quantity(catalog[spectral[0]][peak]).to_value(spectral_unit) if spectral else
                     np.nan, flux[peak], flux[group].sum() * width.to_value(integrated_unit / u.Jy), len(group)))  # fmt: skip
    sources = QTable(rows=rows, names=names)
    sources["ra"].unit, sources["dec"].unit = u.deg, u.deg
    sources[names[4]].unit = spectral_unit
    sources["flux_peak"].unit, sources["flux_integrated"].unit = u.Jy, integrated_unit
    sources.meta["merge"] = f"detections within {MERGE_RADIUS_BEAMS} beam FWHM across channels"
    return sources


def reconstruct_cube(reconstructor, cube, output=None, *, samples=None, seed=None, min_reliability=None,
                     primary_beam=None, force=False, steps=None, block=CUBE_BLOCK, overwrite=False, progress=None):  # fmt: skip
    """Reconstruct every channel of a cube; stream the product to ``output`` or return it in memory.

    Each channel is a 2-D reconstruction (`Reconstructor.reconstruct`) with
    the channel's own beam (per-channel BEAMS) and its own noise level; its
    samples use seed ``seed + channel``, so a cube split in any way gives the
    same planes. A channel that is all blank or all zero is NaN, with a
    `ChannelWarning`.

    Parameters
    ----------
    reconstructor : `Reconstructor`
    cube : str, path-like, HDU or `~astro_i2i.io.RadioCube`
    output : str or path-like, optional
        Product file, written ``block`` channels at a time (memory holds one
        block); without it the products are returned in memory.
    samples, seed, min_reliability, primary_beam, force, steps
        As for `Reconstructor.reconstruct` (``seed`` default 0).
    block : int, optional
    overwrite : bool, optional
    progress : callable, optional
        Called with the channel index after each channel.

    Returns
    -------
    result : path or `CubeReconstruction`
    """
    if not isinstance(cube, RadioCube):
        cube = read_cube(cube)
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive integer, not {block!r}")
    seed = 0 if seed is None else int(seed)
    nchan, ny, nx = cube.shape
    catalogs, provenance = [], None
    in_memory = output is None
    kept = {"sky": [], "uncertainty": [], "style": []}
    writer = None if in_memory else CubeProductWriter(output, cube, provenance={}, overwrite=overwrite)
    pending, start, shapes = [], 0, None
    channels = _channels(reconstructor, cube, samples=samples, seed=seed, min_reliability=min_reliability,
                         primary_beam=primary_beam, force=force, steps=steps)  # fmt: skip

    def planes(result):
        """(sky, uncertainty, style) of a channel; NaN for a blank one (None)."""
        if result is not None:
            return result.sky, result.uncertainty, result.style
        return tuple(None if shape is None else np.full(shape, np.nan, np.float32)
                     for shape in ((ny, nx), shapes["uncertainty"], shapes["style"]))  # fmt: skip

    def flush():
        nonlocal start, pending
        if not pending:
            return
        sky, uncertainty, style = (None if any(p is None for p in parts) else np.stack(parts)
                                   for parts in zip(*map(planes, pending)))  # fmt: skip
        if in_memory:
            for key, array in zip(("sky", "uncertainty", "style"), (sky, uncertainty, style)):
                kept[key].append(array)
        else:
            writer.provenance = provenance
            writer.write(start, sky, uncertainty, style)
        start += len(pending)
        pending = []

    try:
        for index, result in channels:
            pending.append(result)
            if result is not None:
                catalogs.append(result.catalog)
                if shapes is None:
                    shapes = {"uncertainty": None if result.uncertainty is None else (ny, nx),
                              "style": None if result.style is None else result.style.shape}  # fmt: skip
                    provenance = {**result.provenance, "input": cube.name, "seed": seed, "channels": nchan}
            if progress is not None:
                progress(index)
            # Blank channels before the first real one wait until the planes' shapes are known.
            if shapes is not None and len(pending) >= block:
                flush()
        if shapes is None:
            from ..exceptions import InputError

            raise InputError(cube.name, "every channel is blank or zero")
        flush()
        catalog = vstack(catalogs, metadata_conflicts="silent") if catalogs else QTable()
        beams = cube.beams
        beam = beams[0] if beams else reconstructor.beam
        fwhm = np.sqrt(beam.major * beam.minor)
        width = np.diff(cube.spectral_axis[:2])[0] if nchan > 1 else 1 * cube.spectral_axis.unit
        sources = merge_channels(catalog, beam_fwhm=fwhm, channel_width=width)
        if in_memory:
            stacked = {key: None if shapes.get(key, (ny, nx)) is None else np.concatenate(values)
                       for key, values in kept.items()}  # fmt: skip
            return CubeReconstruction(sky=stacked["sky"], uncertainty=stacked["uncertainty"], style=stacked["style"],
                                      catalog=catalog, sources=sources, cube=cube, provenance=provenance)  # fmt: skip
        writer.provenance = provenance
        return writer.finish(catalog, sources)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
