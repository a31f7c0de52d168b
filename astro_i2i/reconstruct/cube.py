"""Spectral cubes: each channel reconstructed with its own beam and noise, written a block at a time."""

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.table import QTable, vstack

from ..catalog import noise_sigma
from .._progress import Progress
from .._validate import positive_int
from ..exceptions import BrightSourceWarning, ChannelWarning, InputError, warn_user
from ..io import CubeProductWriter, RadioCube, find_primary_beam, read_cube, read_primary_beam
from ._options import ReconstructOptions, _primary_beam_source

__all__ = [
    "reconstruct_cube",
    "reconstruct_channels",
    "channel_blocks",
    "CubeAssembler",
    "ChannelResult",
    "merge_channels",
    "CubeReconstruction",
    "cube_primary_beam",
    "CUBE_BLOCK",
]

logger = logging.getLogger(__name__)

#: Channels reconstructed between two writes: memory holds this many planes of each product.
CUBE_BLOCK = 8
#: Detections in different channels within this many beam FWHMs are one source in CATALOG_SOURCES.
MERGE_RADIUS_BEAMS = 0.5


@dataclass
class CubeReconstruction:
    """The result of `Reconstructor.reconstruct` on a cube, in memory (`reconstruct_cube` streams to a file).

    Attributes
    ----------
    sky : `~numpy.ndarray`
        Sky model cube ``(channels, ny, nx)``, Jy/pixel.
    uncertainty : `~numpy.ndarray` or None
        Per-pixel standard deviation, Jy/pixel; None in direct mode.
    style : `~numpy.ndarray` or None
        The estimated styles per channel, or None for a model without style.
    catalog : `~astropy.table.QTable`
        Detections in every channel.
    sources : `~astropy.table.QTable`
        Detections merged across channels (``CATALOG_SOURCES``).
    cube : `~astro_i2i.io.RadioCube`
        The input cube.
    provenance : dict
        What the product's headers record of the run.
    """

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
        """Write the cube product file (SKY, UNCERTAINTY, STYLE cubes, BEAMS, CATALOG, CATALOG_SOURCES).

        Parameters
        ----------
        path : str or path-like
            The product file.
        overwrite : bool, optional
            Replace an existing file. Default False.

        Returns
        -------
        path : path
            The file written.
        """
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


@dataclass
class ChannelResult:
    """One reconstructed channel: what a worker sends back (the planes, the catalogue, the provenance)."""

    sky: np.ndarray
    uncertainty: np.ndarray | None
    style: np.ndarray | None
    catalog: QTable
    provenance: dict


def channel_blocks(nchan, block=CUBE_BLOCK):
    """``[(start, stop), ...]``: the channel blocks a cube is reconstructed and written in."""
    block = positive_int(block, "block")
    return [(start, min(start + block, nchan)) for start in range(0, nchan, block)]


def reconstruct_channels(reconstructor, cube, start, stop, *, options, primary_beam=(None, None), seen=None,
                         progress=None):  # fmt: skip
    """Channels ``start:stop`` of a cube: a list of `ChannelResult`, None for a blank channel.

    The unit of work of `reconstruct_cube`, serially or on a dask worker.
    Channel ``c`` is sampled with seed ``seed + c``, so any split of the cube
    gives the same planes. ``seen`` (a set) gathers the warnings already given
    for this cube: each distinct warning is given once per cube, not once per
    channel.

    Parameters
    ----------
    reconstructor : `~astro_i2i.Reconstructor`
    cube : `~astro_i2i.io.RadioCube`
    start, stop : int
        The channels.
    options : `~astro_i2i.reconstruct.ReconstructOptions`
        As for every channel (its primary beam is ``primary_beam``'s plane).
    primary_beam : tuple, optional
        The cube's primary beam and its source, read once (`cube_primary_beam`):
        an array ``(ny, nx)`` for every channel or ``(nchan, ny, nx)``; None:
        each channel's is the model's antenna at its frequency.
    seen : set, optional
    progress : None, bool or callable, optional
        Progress over the channels ``start:stop`` (`astro_i2i._progress`):
        True for a tqdm bar, or a callable ``progress(done, total)``.

    Returns
    -------
    channels : list of `ChannelResult` or None
    """
    column, unit = _spectral_column(cube)
    seed = options.seed_or_default
    seen = set() if seen is None else seen
    pb, pb_source = primary_beam
    results = []
    report = Progress(progress, stop - start, desc="channels", unit="channel")
    for index in range(start, stop):
        image = cube.channel(index)
        finite = np.isfinite(image.data)
        if not finite.any() or not noise_sigma(image.data) > 0:
            state = "is all blank" if not finite.any() else \
                ("is all zero" if not np.any(image.data[finite]) else "has no noise (most of its pixels are equal)")
            key = (ChannelWarning, f"{cube.name}: channel {index} {state}; passed through as NaN")
            seen.add(key)
            warn_user(key[1], ChannelWarning)
            results.append(None)
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                plane = None if pb is None else (pb if pb.ndim == 2 else pb[index])
                result = reconstructor.reconstruct(image, options=options.replace(seed=seed + index,
                                                                                  primary_beam=plane))  # fmt: skip
            for warning in caught:
                message = str(warning.message).replace(image.name, f"{cube.name} (channel {index})")
                key = (warning.category, str(warning.message).replace(image.name, cube.name))
                if warning.category is BrightSourceWarning:
                    key = (warning.category, None)  # its flux differs from channel to channel: once per cube
                if key not in seen:
                    seen.add(key)
                    warn_user(message if key[1] is None else key[1], warning.category)
            catalog = QTable(result.catalog)
            catalog["channel"] = np.full(len(catalog), index, dtype=int)
            catalog[column] = np.full(len(catalog), cube.spectral_axis[index].to_value(unit)) * unit
            provenance = result.provenance if pb is None else {**result.provenance, "primary_beam": pb_source}
            results.append(ChannelResult(result.sky, result.uncertainty, result.style, catalog, provenance))
        report.update()
    report.close()
    return results


class CubeAssembler:
    """Puts a cube product together from channel blocks that arrive in any order.

    Each block is written to the product file as it arrives (or kept, in
    memory mode); blank blocks that arrive before the planes' shapes are known
    wait as a count, not as arrays. `finish` adds the catalogues in channel
    order, so the product does not depend on the order of the blocks.
    """

    def __init__(self, cube, output=None, *, seed=None, overwrite=False):
        self.cube = cube
        self.seed = 0 if seed is None else int(seed)
        self.writer = None if output is None else CubeProductWriter(output, cube, provenance={}, overwrite=overwrite)
        self.kept = {}  # memory mode: start -> (sky, uncertainty, style)
        self.catalogs = {}  # channel -> catalogue
        self.waiting = []  # blank blocks that came before the shapes were known: (start, count)
        self.shapes = None
        self.provenance = None

    def add(self, start, channels):
        """Channels ``start: start + len(channels)`` (`ChannelResult` or None for a blank one)."""
        if self.shapes is None:
            first = next((channel for channel in channels if channel is not None), None)
            if first is None:
                self.waiting.append((start, len(channels)))
                return
            _, ny, nx = self.cube.shape
            self.shapes = {"uncertainty": None if first.uncertainty is None else (ny, nx),
                           "style": None if first.style is None else first.style.shape}  # fmt: skip
            self.provenance = {**first.provenance, "input": self.cube.name, "seed": self.seed,
                               "channels": self.cube.nchan}  # fmt: skip
            if self.writer is not None:
                self.writer.provenance = self.provenance
            waiting, self.waiting = self.waiting, []
            for blank_start, count in waiting:
                self._store(blank_start, [None] * count)
        self._store(start, channels)

    def _store(self, start, channels):
        _, ny, nx = self.cube.shape
        planes = []
        for offset, channel in enumerate(channels):
            if channel is None:
                planes.append(tuple(None if shape is None else np.full(shape, np.nan, np.float32)
                                    for shape in ((ny, nx), self.shapes["uncertainty"], self.shapes["style"])))  # fmt: skip
            else:
                self.catalogs[start + offset] = channel.catalog
                planes.append((channel.sky, channel.uncertainty, channel.style))
        sky, uncertainty, style = (None if any(p is None for p in parts) else np.stack(parts) for parts in zip(*planes))
        if self.writer is None:
            self.kept[start] = (sky, uncertainty, style)
        else:
            self.writer.write(start, sky, uncertainty, style)

    def finish(self, *, beam=None):
        """The product: its path (file mode) or a `CubeReconstruction`. ``beam``: for a cube without beams."""
        if self.shapes is None:
            raise InputError(self.cube.name, "every channel is blank or zero")
        cube = self.cube
        catalogs = [self.catalogs[index] for index in sorted(self.catalogs)]
        catalog = vstack(catalogs, metadata_conflicts="silent") if catalogs else QTable()
        beams = cube.beams
        beam = beams[0] if beams else beam
        fwhm = np.sqrt(beam.major * beam.minor)
        width = np.diff(cube.spectral_axis[:2])[0] if cube.nchan > 1 else 1 * cube.spectral_axis.unit
        rest = cube.header.get("RESTFRQ", cube.header.get("RESTFREQ"))
        sources = merge_channels(catalog, beam_fwhm=fwhm, channel_width=width,
                                 rest_frequency=float(rest) * u.Hz if rest else None)  # fmt: skip
        if self.writer is not None:
            return self.writer.finish(catalog, sources)
        starts = sorted(self.kept)
        sky, uncertainty, style = (None if self.kept[starts[0]][k] is None else
                                   np.concatenate([self.kept[s][k] for s in starts]) for k in range(3))  # fmt: skip
        return CubeReconstruction(sky=sky, uncertainty=uncertainty, style=style, catalog=catalog, sources=sources,
                                  cube=cube, provenance=self.provenance)  # fmt: skip

    def abort(self):
        """Remove the partial product file."""
        if self.writer is not None:
            self.writer.abort()


def _integration_width(channel_width, rest_frequency):
    """The channel width that ``flux_integrated`` sums over: km/s where the axis is or converts to a velocity."""
    from astropy import constants

    width = abs(channel_width)
    if width.unit.is_equivalent(u.m / u.s):
        return width.to(u.km / u.s)
    if width.unit.is_equivalent(u.Hz) and rest_frequency is not None:
        # The radio convention, v = c (1 - f / f_rest): a channel dv = c df / f_rest wide, whatever its frequency.
        return (constants.c * width / u.Quantity(rest_frequency, u.Hz)).to(u.km / u.s)
    if width.unit.is_equivalent(u.Hz):
        return width.to(u.Hz)
    return width


def merge_channels(catalog, *, beam_fwhm, channel_width, rest_frequency=None):
    """Merge a cube catalogue's detections of the same source across channels (`CATALOG_SOURCES`).

    Detections are taken brightest first; each unassigned one gathers every
    unassigned detection within `MERGE_RADIUS_BEAMS` beams of it (one per
    channel, the closest). ``catalog`` gains a ``source_id`` column (after
    ``id``): the ``id`` of the source each detection belongs to.

    Parameters
    ----------
    catalog : `~astropy.table.QTable`
        With ``ra``, ``dec``, ``flux``, ``channel`` and a spectral column;
        changed in place (``source_id``).
    beam_fwhm : `~astropy.units.Quantity`
    channel_width : `~astropy.units.Quantity`
        The spectral axis' step (its absolute value is used).
    rest_frequency : `~astropy.units.Quantity`, optional
        The line's rest frequency (the cube's ``RESTFRQ``): with it, a
        frequency axis' channel width is converted to a velocity width (radio
        convention) for ``flux_integrated``.

    Returns
    -------
    sources : `~astropy.table.QTable`
        ``id``, ``ra``, ``dec`` (flux-weighted), ``peak_channel``, the spectral
        coordinate of that channel, ``flux_peak``, ``flux_integrated`` (sum of
        flux x channel width: Jy km/s for a velocity axis, or a frequency
        axis with a rest frequency, else Jy Hz) and ``n_channels``.
    """
    spectral = [name for name in ("freq", "velocity", "spectral") if name in catalog.colnames]
    spectral_unit = catalog[spectral[0]].unit if spectral else u.one
    width = _integration_width(channel_width, rest_frequency)
    integrated_unit = u.Unit(u.Jy * width.unit)
    names = ("id", "ra", "dec", "peak_channel", "peak_" + (spectral[0] if spectral else "spectral"), "flux_peak",
             "flux_integrated", "n_channels")  # fmt: skip
    units = {"ra": u.deg, "dec": u.deg, names[4]: spectral_unit, "flux_peak": u.Jy, "flux_integrated": integrated_unit}
    if width.unit == u.km / u.s:
        how = ("velocity" if abs(channel_width).unit.is_equivalent(u.m / u.s) else
               f"velocity, radio convention at the rest frequency {u.Quantity(rest_frequency, u.GHz).value:.6f} GHz")
    else:
        how = "frequency width; the cube gives no rest frequency, RESTFRQ" if width.unit == u.Hz else \
            "in the spectral axis' unit"  # fmt: skip
    descriptions = {"flux_integrated": f"sum over the source's channels of flux x channel width ({how})",
                    "ra": "right ascension, flux-weighted over the source's detections",
                    "dec": "declination, flux-weighted over the source's detections"}  # fmt: skip
    _link(catalog, np.zeros(len(catalog), dtype=int))
    if not len(catalog):
        sources = QTable({name: np.zeros(0, dtype=int if name in ("id", "peak_channel", "n_channels") else float)
                          * units.get(name, 1) for name in names})  # fmt: skip
        return _describe(sources, descriptions)
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
                     np.nan, flux[peak], flux[group].sum() * width.value, len(group)))  # fmt: skip
    sources = QTable(rows=rows, names=names)
    for name, unit in units.items():
        sources[name].unit = unit
    sources.meta["merge"] = f"detections within {MERGE_RADIUS_BEAMS} beam FWHM across channels"
    if "frame" in catalog.meta:
        sources.meta["frame"] = catalog.meta["frame"]  # the celestial frame of ra, dec (regions, VOTable COOSYS)
    _link(catalog, assigned + 1)
    return _describe(sources, descriptions)


def _link(catalog, source_id):
    """``catalog['source_id']`` (after ``id``): the CATALOG_SOURCES ``id`` of each detection."""
    from ..catalog import COLUMN_META

    if not catalog.colnames:
        return  # no detection in any channel: an empty table without columns
    if "source_id" in catalog.colnames:
        catalog.remove_column("source_id")
    index = catalog.colnames.index("id") + 1 if "id" in catalog.colnames else 0
    catalog.add_column(np.asarray(source_id, dtype=int), name="source_id", index=index)
    catalog["source_id"].info.description = COLUMN_META["source_id"][1]


def _describe(sources, descriptions):
    from ..catalog import describe_columns

    for name, text in descriptions.items():
        sources[name].info.description = text
    return describe_columns(sources)


def cube_primary_beam(cube, primary_beam):
    """A cube's primary beam, read once: ``(ny, nx)``, ``(nchan, ny, nx)``, or None (the model's antenna).

    ``primary_beam`` as `~astro_i2i.reconstruct.ReconstructOptions` takes it;
    None: a ``.pb`` beside the cube's file (`~astro_i2i.io.find_primary_beam`),
    if there is one. Returns ``(pb, source)``.
    """
    if primary_beam is None and cube.path is not None:
        primary_beam = find_primary_beam(cube.path)
        if primary_beam is not None:
            logger.info("%s: primary beam %s (found beside it)", cube.name, primary_beam)
    if primary_beam is None:
        return None, None
    return read_primary_beam(primary_beam, image=cube), _primary_beam_source(primary_beam)


def reconstruct_cube(reconstructor, cube, output=None, *, options=None, block=None, overwrite=False, progress=None,
                     **keywords):  # fmt: skip
    """Reconstruct every channel of a cube; stream the product to ``output`` or return it in memory.

    Each channel is a 2-D reconstruction (`Reconstructor.reconstruct`) with
    the channel's own beam (per-channel BEAMS) and its own noise level; its
    samples use seed ``seed + channel``, so a cube split in any way gives the
    same planes. A channel that is all blank or all zero is NaN, with a
    `~astro_i2i.exceptions.ChannelWarning`.

    Parameters
    ----------
    reconstructor : `Reconstructor`
    cube : str, path-like, HDU or `~astro_i2i.io.RadioCube`
    output : str or path-like, optional
        Product file, written ``block`` channels at a time (memory holds one
        block); without it the products are returned in memory.
    options : `~astro_i2i.reconstruct.ReconstructOptions`, optional
        How to reconstruct (``seed`` default 0). The primary beam is read once
        for the cube: one plane for every channel, or one per channel (CASA's
        cube ``.pb``). ``pb_corrected`` applies to 2-D images only.
    block : int, optional
        Channels reconstructed between two writes (default `CUBE_BLOCK`).
    overwrite : bool, optional
        Replace an existing ``output``.
    progress : None, bool or callable, optional
        Progress over the cube's channels (`astro_i2i._progress`): True for a
        tqdm bar, or a callable ``progress(done, total)``.
    **keywords
        Instead of ``options``: its fields (``samples=``, ``seed=``, ...).

    Returns
    -------
    result : path or `CubeReconstruction`
    """
    options = ReconstructOptions.from_keywords(options, **keywords)
    if options.pb_corrected:
        raise InputError("pb_corrected", "applies to 2-D images: multiply the cube by its primary beam")
    if not isinstance(cube, RadioCube):
        cube = read_cube(cube)
    blocks = channel_blocks(cube.nchan, CUBE_BLOCK if block is None else block)
    primary_beam = cube_primary_beam(cube, options.primary_beam)
    assembler = CubeAssembler(cube, output, seed=options.seed, overwrite=overwrite)
    seen = set()
    report = Progress(progress, cube.nchan, desc="channels", unit="channel")
    try:
        for start, stop in blocks:
            assembler.add(start, reconstruct_channels(reconstructor, cube, start, stop, options=options,
                                                      primary_beam=primary_beam, seen=seen,
                                                      progress=lambda done, total: report.update()))  # fmt: skip
        return assembler.finish(beam=reconstructor.beam)
    except BaseException:
        assembler.abort()
        raise
    finally:
        report.close()
