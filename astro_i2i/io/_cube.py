"""Spectral cubes: read with spectral-cube, one channel at a time; products written a block of channels at a time."""

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from ..exceptions import InputError
from ._products import SKY_UNIT, _add_provenance, catalog_hdu, mark_long_strings
from ._casa import casa_cube_header, casa_spectral_cube, is_casa_image
from ._read import _BEAM_UNITS, _SPECTRAL_TYPES, RadioImage

__all__ = ["RadioCube", "read_cube", "is_cube", "cube_channels", "cube_summary", "CubeProductWriter"]

logger = logging.getLogger(__name__)


def _axes(header):
    """[(ctype, length)] in FITS axis order."""
    return [(str(header.get(f"CTYPE{i}", "")).split("-")[0].upper(), int(header.get(f"NAXIS{i}", 0)))
            for i in range(1, int(header.get("NAXIS", 0)) + 1)]  # fmt: skip


def _header_of(image, hdu):
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.exists():
            raise InputError(image, "file not found")
        if is_casa_image(path):
            # The header only (the table's keywords and its shape): no pixel is read to tell a cube.
            header, beams = casa_cube_header(path, str(image))
            return header, None if beams is None else beams.data, None
        try:
            with fits.open(path, memmap=True) as hdulist:
                index = hdu if hdu is not None else next(
                    (i for i, h in enumerate(hdulist) if h.header.get("NAXIS", 0) >= 2 and h.is_image), 0)  # fmt: skip
                return hdulist[index].header.copy(), _beams_rows(hdulist), index
        except (OSError, ValueError, KeyError, IndexError) as exc:
            text = str(exc)
            if "SIMPLE" in text or "Empty or corrupt" in text:
                raise InputError(image, "not a FITS file (or corrupt)") from None
            raise InputError(image, f"cannot read as FITS: {text}") from None
    if isinstance(image, fits.HDUList):
        index = hdu if hdu is not None else 0
        return image[index].header.copy(), _beams_rows(image), index
    if isinstance(image, (fits.PrimaryHDU, fits.ImageHDU)):
        return image.header.copy(), None, None
    return None, None, None


def _beams_rows(hdulist):
    for h in hdulist:
        if h.name == "BEAMS" and isinstance(h, fits.BinTableHDU):
            return h.data
    return None


def is_cube(image, *, hdu=None):
    """Whether ``image`` is a spectral cube: the one test every path (CLI, `Reconstructor`, many files) uses.

    Parameters
    ----------
    image : str, path-like, HDU, HDUList, ``(array, header)``, `RadioImage` or `RadioCube`
        The input.
    hdu : int or str, optional
        The HDU of a file.

    Returns
    -------
    cube : bool
        True for a `RadioCube`, or a file or HDU whose header has a spectral
        axis with more than one channel; False for anything else, including
        anything unreadable (`~astro_i2i.io.read_image` then says what is
        wrong with it). Reading the header is quiet: astropy's warnings on a
        damaged file are left to the reader that reports it.
    """
    if isinstance(image, RadioCube):
        return True
    if isinstance(image, RadioImage):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cube_channels(image, hdu=hdu) > 1


def cube_channels(image, *, hdu=None):
    """The length of ``image``'s spectral axis, from its header: 1 for a 2-D image or anything unreadable."""
    try:
        header, _, _ = _header_of(image, hdu)
    except InputError:
        return 1
    if header is None:
        return 1
    return max([length for kind, length in _axes(header) if kind in _SPECTRAL_TYPES and length > 1] or [1])


@dataclass
class RadioCube:
    """A spectral cube as astro-i2i understands it: channels read one at a time.

    Attributes
    ----------
    cube : `~spectral_cube.SpectralCube` or `~spectral_cube.VaryingResolutionSpectralCube`
    name : str
    header : `~astropy.io.fits.Header`
        The original header.
    scale : float
        Factor from the cube's brightness unit to Jy/beam.
    """

    cube: object
    name: str
    header: fits.Header
    scale: float = 1.0
    path: Path | None = None
    hdu_index: int | None = None

    @property
    def nchan(self):
        return self.cube.shape[0]

    @property
    def shape(self):
        """``(nchan, ny, nx)``."""
        return self.cube.shape

    @property
    def spectral_axis(self):
        return self.cube.spectral_axis

    @property
    def celestial_wcs(self):
        return self.cube.wcs.celestial

    @property
    def beams(self):
        """One `~radio_beam.Beam` per channel, or None (no beam in the file)."""
        if hasattr(self.cube, "beams"):
            return list(self.cube.beams)
        try:
            beam = self.cube.beam
        except (AttributeError, ValueError):
            return None
        return [beam] * self.nchan if beam is not None else None

    def frequency(self, index):
        """The channel's frequency (GHz), or None where the spectral axis cannot be converted.

        Parameters
        ----------
        index : int
            Channel index (0-based).

        Returns
        -------
        frequency : `~astropy.units.Quantity` or None
            In GHz; a velocity axis is converted with the radio convention and
            the header's RESTFRQ (or RESTFREQ); None without a rest frequency.
        """
        value = self.spectral_axis[index]
        if value.unit.is_equivalent(u.Hz):
            return value.to(u.GHz)
        rest = self.header.get("RESTFRQ", self.header.get("RESTFREQ"))
        if rest:
            return value.to(u.GHz, equivalencies=u.doppler_radio(float(rest) * u.Hz))
        return None

    def _plane(self, index):
        """One channel's pixels: read from the file alone (a memory map would keep every channel it touched
        resident), else from spectral-cube."""
        axes = _axes(self.header)
        kinds = [kind for kind, _ in axes]
        plain = (self.path is not None and kinds[:2] in (["RA", "DEC"], ["GLON", "GLAT"], ["ELON", "ELAT"])
                 and "BLANK" not in self.header)  # fmt: skip
        if plain:
            index_of = []
            for kind, _ in reversed(axes):  # numpy order
                if kind in _SPECTRAL_TYPES:
                    index_of.append(index)
                elif kind in ("RA", "DEC", "GLON", "GLAT", "ELON", "ELAT"):
                    index_of.append(slice(None))
                else:
                    index_of.append(0)
            with fits.open(self.path, memmap=False, lazy_load_hdus=True) as hdulist:
                return np.asarray(hdulist[self.hdu_index or 0].section[tuple(index_of)], dtype=np.float32)
        return np.asarray(self.cube.unmasked_data[index], dtype=np.float32)

    def channel(self, index):
        """Channel ``index`` as a `~astro_i2i.io.RadioImage` (Jy/beam, its own beam and frequency).

        Parameters
        ----------
        index : int
            Channel index (0-based).

        Returns
        -------
        image : `~astro_i2i.io.RadioImage`
            The channel in Jy/beam (the cube's unit times ``scale``), non-finite
            pixels NaN, with the channel's beam (None if the cube has none).
        """
        data = self._plane(index) * np.float32(self.scale)
        data[~np.isfinite(data)] = np.nan
        beams = self.beams
        return RadioImage(data=data, wcs=self.celestial_wcs, beam=None if beams is None else beams[index],
                          beam_source="none" if beams is None else "header", unit=u.Jy / u.beam,
                          frequency=self.frequency(index), header=self.header, name=f"{self.name}[channel {index}]",
                          original_unit=str(self.header.get("BUNIT", "")),
                          original_axes=tuple(k for k, _ in _axes(self.header)))  # fmt: skip


def read_cube(cube, *, hdu=None):
    """Read a spectral cube (3-D, or 4-D with a degenerate STOKES axis in either order).

    The cube is opened with `spectral_cube.SpectralCube.read`, memory-mapped:
    `RadioCube.channel` reads one channel at a time. Per-channel beams come
    from a ``BEAMS`` table (CASA, WSClean), a single beam from BMAJ/BMIN/BPA.

    Parameters
    ----------
    cube : str, path-like, `~astropy.io.fits.HDUList` or image HDU
        A FITS file, or a CASA image directory (with the ``casa`` extra:
        read through dask, per-channel beams from its ``perplanebeams``,
        pixels outside its mask blank).
    hdu : int, optional

    Returns
    -------
    cube : `RadioCube`

    Raises
    ------
    astro_i2i.exceptions.InputError
        A STOKES axis with more than one plane, no spectral axis, a BEAMS table
        whose length is not the number of channels, or a brightness unit that
        is not Jy/beam.
    """
    name = str(cube) if isinstance(cube, (str, os.PathLike)) else f"<{type(cube).__name__}>"
    header, beams_rows, index = _header_of(cube, hdu)
    if header is None:
        raise TypeError(f"cube must be a file path, an HDUList or an image HDU, not {type(cube).__name__!r}")
    axes = _axes(header)
    stokes = [length for kind, length in axes if kind == "STOKES"]
    if any(length > 1 for length in stokes):
        raise InputError(name, f"has a STOKES axis with {max(stokes)} planes: give a single-Stokes cube "
                               "(e.g. CASA imsubimage stokes='I')")  # fmt: skip
    spectral = [length for kind, length in axes if kind in _SPECTRAL_TYPES]
    if not spectral:
        shown = ", ".join(kind or "''" for kind, _ in axes)
        raise InputError(name, f"has no spectral axis (axis types: {shown}): not a cube")
    nchan = spectral[0]
    if beams_rows is not None:
        rows = len(beams_rows)
        if "POL" in beams_rows.dtype.names:
            rows = int(np.sum(np.asarray(beams_rows["POL"]) == np.min(beams_rows["POL"])))
        if rows != nchan:
            raise InputError(name, f"BEAMS table has {rows} rows but the cube has {nchan} channels")
    bunit = " ".join(str(header.get("BUNIT", "")).lower().split())
    if bunit and bunit not in _BEAM_UNITS:
        raise InputError(name, f"brightness unit '{header['BUNIT']}' is not Jy/beam: a dirty cube is needed")
    scale = _BEAM_UNITS.get(bunit, 1.0)
    casa = is_casa_image(cube)
    if casa:
        # Read through dask, a channel at a time, as a FITS cube's memory map is (not the whole cube at once).
        read = casa_spectral_cube(cube, name)
    else:
        from spectral_cube import SpectralCube

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # spectral-cube's notes on beams and units; checked above
                read = SpectralCube.read(cube, hdu=index if index is not None else 0, use_dask=False)
        except Exception as exc:  # spectral-cube raises many types for files it cannot interpret
            raise InputError(name, f"cannot read as a spectral cube: {exc}") from None
    if not hasattr(read, "spectral_axis") or read.ndim != 3:
        raise InputError(name, "cannot read as a spectral cube (a Stokes cube?)")
    path = Path(cube) if isinstance(cube, (str, os.PathLike)) and not casa else None
    return RadioCube(cube=read, name=name, header=header, scale=scale, path=path, hdu_index=index)


def cube_summary(cube):
    """Lines describing a `RadioCube` (for ``astro-i2i info``): grid, spectral axis, beams, noise.

    Parameters
    ----------
    cube : `RadioCube`
        The cube; its first, middle and last channels are read for the noise.

    Returns
    -------
    lines : list of str
        File, shape, spectral axis, pixel scale, beams and noise (MAD, uJy/beam).
    """
    from astropy.stats import mad_std

    nchan, ny, nx = cube.shape
    axis = cube.spectral_axis
    ctype = cube.cube.wcs.wcs.ctype[2]
    width = abs(axis[1] - axis[0]) if nchan > 1 else 0 * axis.unit
    unit = u.GHz if axis.unit.is_equivalent(u.Hz) else (u.km / u.s if axis.unit.is_equivalent(u.m / u.s) else axis.unit)
    lines = [f"file:        {cube.name}",
             f"shape:       {nx} x {ny} pixels x {nchan} channels (axes: {', '.join(k for k, _ in _axes(cube.header))})",
             f"spectral:    {ctype}, {axis[0].to_value(unit):.6g} to {axis[-1].to_value(unit):.6g} {unit}, channel "
             f"width {width.to_value(unit):.4g} {unit} ({cube.header.get('SPECSYS', 'frame not given')})",
             f"pixel scale: {cube.celestial_wcs.proj_plane_pixel_scales()[0].to_value(u.arcsec):.4g} arcsec"]  # fmt: skip
    beams = cube.beams
    if beams is None:
        lines.append("beams:       none (no BMAJ/BMIN/BPA, no BEAMS table)")
    else:
        major = np.array([b.major.to_value(u.arcsec) for b in beams])
        minor = np.array([b.minor.to_value(u.arcsec) for b in beams])
        kind = "per channel (BEAMS table)" if hasattr(cube.cube, "beams") else "one for all channels"
        lines.append(f"beams:       {kind}: major {major.min():.3f}-{major.max():.3f}\", minor "
                     f"{minor.min():.3f}-{minor.max():.3f}\"")  # fmt: skip
    noise = []
    for index in sorted({0, nchan // 2, nchan - 1}):
        data = cube.channel(index).data
        finite = data[np.isfinite(data)]
        noise.append(f"channel {index} {1e6 * mad_std(finite):.3g}" if finite.size else f"channel {index} blank")
    lines.append(f"noise (MAD): {', '.join(noise)} uJy/beam")
    return lines


def _spectral_header(cube):
    """The cube's 3-D WCS (celestial + spectral) as header cards."""
    header = cube.cube.wcs.to_header()
    for key in ("RESTFRQ", "SPECSYS", "OBJECT", "TELESCOP", "DATE-OBS", "MJD-OBS"):
        if key in cube.header and key not in header:
            header[key] = cube.header[key]
    return header


def _allocated_header(template, shape, extname, primary):
    """A header for a float32 image of ``shape`` (numpy order) with ``template``'s WCS cards."""
    hdu = fits.PrimaryHDU(np.zeros((1,) * len(shape), np.float32)) if primary else \
        fits.ImageHDU(np.zeros((1,) * len(shape), np.float32))  # fmt: skip
    header = hdu.header
    for i, n in enumerate(reversed(shape), start=1):
        header[f"NAXIS{i}"] = n
    if primary:
        header["EXTEND"] = True
    for card in template.cards:
        if card.keyword not in header and card.keyword not in ("", "COMMENT", "HISTORY"):
            header.append(card)
    header["EXTNAME"] = extname
    return header


class CubeProductWriter:
    """Writes a cube product file channel block by channel block, atomically.

    SKY (primary), UNCERTAINTY and STYLE are allocated on disk when the first
    block arrives (when their shapes are known) and each block is written
    through a memory map of its own channels, so only a block of channels is
    ever in memory; BEAMS, CATALOG and
    CATALOG_SOURCES are appended by `finish`, and the temporary file is
    renamed to ``path``. `abort` (or an exception in a ``with`` block)
    removes the temporary file.
    """

    def __init__(self, path, cube, *, provenance, overwrite=False):
        from .._atomic import check_output_path

        self.path = check_output_path(path, overwrite=overwrite)
        self.overwrite = overwrite
        self.cube = cube
        self.provenance = provenance
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        self.maps = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self.abort()

    def abort(self):
        self.maps = None
        if self.tmp.exists():
            self.tmp.unlink()

    def _allocate(self, has_uncertainty, style_shape):
        nchan, ny, nx = self.cube.shape
        spectral = _spectral_header(self.cube)
        specs = [("SKY", (nchan, ny, nx), spectral, SKY_UNIT)]
        if has_uncertainty:
            specs.append(("UNCERTAINTY", (nchan, ny, nx), spectral, SKY_UNIT))
        if style_shape is not None:
            specs.append(("STYLE", (nchan, *style_shape), self._style_header(style_shape), None))
        offsets = []
        with open(self.tmp, "wb") as handle:
            for k, (extname, shape, template, bunit) in enumerate(specs):
                header = _allocated_header(template, shape, extname, primary=k == 0)
                if bunit:
                    header["BUNIT"] = bunit
                if k == 0 and not has_uncertainty:
                    header["I2IUNC"] = (False, "no uncertainty map (direct mode)")
                header["I2INCHAN"] = (nchan, "channels reconstructed one by one")
                if k == 0 and self.cube.beams is not None:
                    # The beams are in the BEAMS table (as CASA writes them): CASA and spectral-cube look for it.
                    header["CASAMBM"] = (True, "per-channel beams in the BEAMS table")
                _add_provenance(header, self.provenance)
                mark_long_strings(header)
                handle.write(header.tostring().encode("ascii"))
                offsets.append(handle.tell())
                nbytes = 4 * int(np.prod(shape))
                padded = -(-nbytes // 2880) * 2880
                handle.seek(offsets[-1] + padded - 1)
                handle.write(b"\0")
        # Offsets and shapes only: each block maps just its own channels, and unmaps them once written, so
        # the written pages do not stay resident (a map of the whole product grew the RSS with the file).
        self.maps = {extname: (offset, shape) for (extname, shape, _, _), offset in zip(specs, offsets)}

    def _style_header(self, style_shape):
        from ._products import style_wcs

        _, ny, nx = self.cube.shape
        celestial = style_wcs(self.cube.celestial_wcs, (ny, nx), style_shape).to_header()
        spectral = self.cube.cube.wcs.sub([3]).to_header()
        header = celestial.copy()
        header["WCSAXES"] = 4
        for key, value in spectral.items():
            if key.endswith("1") and key[:-1] in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT"):
                header[key[:-1] + "4"] = value
        return header

    def write(self, start, sky, uncertainty=None, style=None):
        """Channels ``start: start + len(sky)``: sky and uncertainty ``(n, ny, nx)``, style ``(n, C, sy, sx)``."""
        if self.maps is None:
            self._allocate(uncertainty is not None, None if style is None else tuple(np.shape(style)[1:]))
        for extname, block in (("SKY", sky), ("UNCERTAINTY", uncertainty), ("STYLE", style)):
            if extname not in self.maps or block is None:
                continue
            offset, shape = self.maps[extname]
            plane = 4 * int(np.prod(shape[1:]))
            view = np.memmap(self.tmp, dtype=">f4", mode="r+", offset=offset + start * plane,
                             shape=(len(block), *shape[1:]))  # fmt: skip
            view[:] = block
            view.flush()
            del view

    def finish(self, catalog, sources):
        """Append BEAMS, CATALOG and CATALOG_SOURCES; move the file into place. Returns the path."""
        from .._atomic import atomic_output

        if self.maps is None:
            raise RuntimeError("no channel was written")
        self.maps = None
        tables = []
        beams = self.cube.beams
        if beams is not None:
            table = Table({"BMAJ": np.array([b.major.to_value(u.arcsec) for b in beams], np.float32),
                           "BMIN": np.array([b.minor.to_value(u.arcsec) for b in beams], np.float32),
                           "BPA": np.array([b.pa.to_value(u.deg) for b in beams], np.float32),
                           "CHAN": np.arange(len(beams), dtype=np.int32),
                           "POL": np.zeros(len(beams), dtype=np.int32)})  # fmt: skip
            table["BMAJ"].unit, table["BMIN"].unit, table["BPA"].unit = u.arcsec, u.arcsec, u.deg
            hdu = fits.table_to_hdu(table)
            hdu.header["EXTNAME"] = "BEAMS"
            hdu.header["NCHAN"], hdu.header["NPOL"] = len(beams), 1
            tables.append(hdu)
        for extname, table in (("CATALOG", catalog), ("CATALOG_SOURCES", sources)):
            # Units, descriptions (TCOMMn) and UCDs (TUCDn); CATALOG's source_id names a CATALOG_SOURCES id.
            tables.append(catalog_hdu(table, extname, self.provenance))
        with fits.open(self.tmp, mode="append") as hdulist:
            for hdu in tables:
                hdulist.append(hdu)
        try:
            with atomic_output(self.path, overwrite=self.overwrite) as final:
                os.replace(self.tmp, final)
        finally:
            self.abort()
        logger.info("wrote %s", self.path)
        return self.path

