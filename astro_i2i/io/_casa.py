"""CASA image directories (tclean's ``X.image``, ``X.psf``, ``X.pb``) read as the FITS ``exportfits`` writes.

The reader is casa-formats-io (the one spectral-cube uses), an optional extra
(``pip install 'astro-i2i[casa]'``): it is imported only when a directory is
given, and without it the error names the extra and CASA's ``exportfits``.
"""

import os
import re
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.wcs import FITSFixedWarning

from ..exceptions import InputError

__all__ = ["is_casa_image", "read_casa_image", "casa_header", "casa_cube_header", "casa_spectral_cube"]

#: Directory endings of tclean's and impbcor's products (a directory so named without ``table.dat`` is none).
CASA_ENDINGS = (".image", ".pb", ".psf", ".residual", ".model", ".pbcor", ".mask", ".sumwt", ".weight")
#: A keyword FITS allows (exportfits writes ``miscinfo`` entries so).
_KEYWORD = re.compile(r"^[A-Z0-9_-]{1,8}$")


def is_casa_image(path):
    """Whether ``path`` is a CASA table directory (it holds ``table.dat``); what kind of table is checked on reading.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    casa : bool
    """
    if not isinstance(path, (str, os.PathLike)):
        return False
    path = Path(path)
    return path.is_dir() and (path / "table.dat").is_file()


def _missing_extra(name):
    path = Path(name)
    return InputError(name, f"a CASA image directory; reading it needs casa-formats-io: pip install "
                            f"'astro-i2i[casa]' (or export it with CASA's exportfits(imagename='{path.name}', "
                            f"fitsimage='{path.name}.fits'))")  # fmt: skip


def _unreadable(name, what, exc):
    """A CASA image casa-formats-io cannot read (a damaged table, a storage manager it does not know)."""
    path = Path(name)
    return InputError(name, f"is a CASA image directory whose {what} casa-formats-io cannot read "
                            f"({type(exc).__name__}: {exc}): export it with CASA's exportfits(imagename='{path.name}', "
                            f"fitsimage='{path.name}.fits')")  # fmt: skip


def _casa_formats_io(name):
    """The casa_formats_io module, imported here only (it pulls in dask: kept off every FITS path)."""
    try:
        import casa_formats_io
    except ImportError:
        raise _missing_extra(name) from None
    return casa_formats_io


def _check_table_type(path, name):
    """A MeasurementSet or a calibration table is a CASA table too: name what it is."""
    info = path / "table.info"
    if not info.is_file():
        return
    first = info.read_text(errors="replace").splitlines()[:1]
    kind = first[0].partition("=")[2].strip() if first and "=" in first[0] else ""
    if kind and kind.lower() != "image":
        raise InputError(name, f"is a CASA table of type '{kind}', not an image (a CASA image directory, or a "
                               "FITS file, is needed)")  # fmt: skip


def _keywords(path, name):
    """The image table's keywords (coords, imageinfo, units, miscinfo, masks)."""
    casa_formats_io = _casa_formats_io(name)
    _check_table_type(path, name)
    try:
        keywords = casa_formats_io.getdesc(str(path))["_keywords_"]
    except Exception as exc:  # noqa: BLE001 - casa-formats-io raises many types for tables it cannot parse
        raise _unreadable(name, "its table", exc) from None
    if "coords" not in keywords:
        raise InputError(name, "is a CASA table without coordinates, not an image")
    return keywords


def _quantity_deg(record, unit=u.deg):
    return u.Quantity(record["value"], record["unit"]).to_value(unit)


def _beam_cards(beam):
    """BMAJ, BMIN (deg) and BPA (deg) of a CASA beam record, as exportfits writes them."""
    return {"BMAJ": _quantity_deg(beam["major"]), "BMIN": _quantity_deg(beam["minor"]),
            "BPA": _quantity_deg(beam["positionangle"])}  # fmt: skip


def _beams_table(perplane):
    """CASA's per-plane beams as the BEAMS table exportfits writes (BMAJ, BMIN arcsec; BPA deg; CHAN; POL)."""
    nchan, npol = int(perplane["nChannels"]), int(perplane["nStokes"])
    rows = [perplane[f"*{k}"] for k in range(nchan * npol)]
    columns = [fits.Column("BMAJ", "E", "arcsec", array=[_quantity_deg(r["major"], u.arcsec) for r in rows]),
               fits.Column("BMIN", "E", "arcsec", array=[_quantity_deg(r["minor"], u.arcsec) for r in rows]),
               fits.Column("BPA", "E", "deg", array=[_quantity_deg(r["positionangle"]) for r in rows]),
               fits.Column("CHAN", "J", array=np.tile(np.arange(nchan), npol)),
               fits.Column("POL", "J", array=np.repeat(np.arange(npol), nchan))]  # fmt: skip
    hdu = fits.BinTableHDU.from_columns(columns, name="BEAMS")
    hdu.header["NCHAN"], hdu.header["NPOL"] = nchan, npol
    return hdu


def _axis_order(wcs):
    """FITS axes (1-based) in exportfits' order: the image's own, with a Stokes axis moved last (stokeslast)."""
    axes = list(range(1, wcs.naxis + 1))
    stokes = [axis for axis in axes if str(wcs.wcs.ctype[axis - 1]).upper() == "STOKES"]
    return [axis for axis in axes if axis not in stokes] + stokes


def casa_header(keywords, shape, name):
    """The FITS header exportfits would write for a CASA image, and its BEAMS table (None for one beam).

    Parameters
    ----------
    keywords : dict
        The image table's keywords (casa-formats-io's ``getdesc(path)['_keywords_']``).
    shape : tuple
        The pixel array's shape, numpy order, in the CASA image's own axis order.
    name : str
        The directory, for messages.

    Returns
    -------
    header : `~astropy.io.fits.Header`
        In exportfits' axis order (a Stokes axis last): the WCS, BUNIT, the
        restoring beam (BMAJ/BMIN/BPA), BTYPE, OBJECT, TELESCOP, OBSERVER,
        DATE-OBS, RESTFRQ, SPECSYS, OBSRA/OBSDEC and the ``miscinfo`` entries
        (INSTRUME, ...), as exportfits writes them.
    beams : `~astropy.io.fits.BinTableHDU` or None
        The per-channel beams (CASA's ``perplanebeams``), as exportfits'
        ``BEAMS`` table; the header then has ``CASAMBM = T``.
    order : list of int
        The image's FITS axes (1-based) in the header's order: the numpy data
        are transposed to it by `read_casa_image`.
    """
    from casa_formats_io import coordsys_to_astropy_wcs

    coords = keywords["coords"]
    pixel_maps = {k[len("pixelmap"):]: list(v) for k, v in coords.items() if k.startswith("pixelmap")}
    world_maps = {k[len("worldmap"):]: list(v) for k, v in coords.items() if k.startswith("worldmap")}
    if pixel_maps != world_maps:
        raise InputError(name, "CASA image whose pixel axes are reordered from its world axes: export it with "
                               "CASA's exportfits")  # fmt: skip
    try:
        with warnings.catch_warnings():
            # astropy's notes on CASA's OBSGEO/MJD (as quiet_wcs keeps them off a FITS export's reading)
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = coordsys_to_astropy_wcs(coords)
    except Exception as exc:  # noqa: BLE001 - a coordinate system casa-formats-io does not convert
        raise _unreadable(name, "its coordinate system", exc) from None
    if wcs.naxis != len(shape):
        raise InputError(name, f"has {wcs.naxis} coordinate axes but {len(shape)} pixel axes")
    order = _axis_order(wcs)
    wcs = wcs.sub(order)
    header = fits.PrimaryHDU(np.zeros((1,) * len(shape), np.float32)).header
    for i, axis in enumerate(order, start=1):
        header[f"NAXIS{i}"] = int(shape[len(shape) - axis])
    header.extend(wcs.to_header(), update=True)
    info = keywords.get("imageinfo", {})
    header["BUNIT"] = (str(keywords.get("units", "")), "Brightness (pixel) unit")
    if info.get("imagetype"):
        header["BTYPE"] = str(info["imagetype"])
    if info.get("objectname"):
        header["OBJECT"] = str(info["objectname"])
    beams = None
    perplane = info.get("perplanebeams")
    if perplane is not None:
        beams = _beams_table(perplane)
        if len(beams.data) == 1:  # one plane: the beam of the image
            header.update(_beam_cards(perplane["*0"]))
        else:
            header["CASAMBM"] = (True, "per-channel beams in the BEAMS table")
    elif "restoringbeam" in info and "major" in info["restoringbeam"]:
        header.update(_beam_cards(info["restoringbeam"]))
    for key, keyword in (("telescope", "TELESCOP"), ("observer", "OBSERVER")):
        if coords.get(key):
            header[keyword] = str(coords[key])
    pointing = coords.get("pointingcenter", {}).get("value")
    if pointing is not None and len(pointing) == 2:
        header["OBSRA"], header["OBSDEC"] = (float(np.degrees(v)) for v in pointing)
    for card in header.cards:
        # exportfits writes each real with 13 significant digits: the same values, so the same products.
        if isinstance(card.value, float) and np.isfinite(card.value):
            header[card.keyword] = float(f"{card.value:.12E}")
    for key, value in keywords.get("miscinfo", {}).items():
        # exportfits writes these as cards, cut to 8 characters (useweightimage -> USEWEIGH).
        if isinstance(value, (str, bool, int, float, np.bool_, np.integer, np.floating)):
            keyword = str(key).upper()[:8]
            if keyword not in header and _KEYWORD.match(keyword):
                header[keyword] = value.item() if hasattr(value, "item") else value
    return header, beams, order


def read_casa_image(path, name=None):
    """The pixels and FITS header of a CASA image directory, as exportfits would write them.

    Parameters
    ----------
    path : str or path-like
        The image directory (tclean's ``X.image``, ``X.psf``, ``X.pb``).
    name : str, optional
        For messages; default ``str(path)``.

    Returns
    -------
    data : `~numpy.ndarray`
        float32 (or float64 as stored), numpy order of the header's axes; NaN
        where the image's default mask (``mask0``) is False, as exportfits blanks it.
    header : `~astropy.io.fits.Header`
        As `casa_header`.
    beams : `~astropy.io.fits.BinTableHDU` or None
        Per-channel beams, as `casa_header`.

    Raises
    ------
    astro_i2i.exceptions.InputError
        Without casa-formats-io (naming the extra and exportfits), or for a
        directory that is not a readable CASA image.
    """
    path = Path(path)
    name = name or str(path)
    keywords, data, valid = _lazy_pixels(path, name)
    try:
        data = np.asarray(data.compute())
        valid = None if valid is None else np.asarray(valid.compute())
    except Exception as exc:  # noqa: BLE001 - missing or truncated tiles
        raise _unreadable(name, "its pixels", exc) from None
    header, beams, order = casa_header(keywords, data.shape, name)
    if valid is not None and not valid.all():
        data = np.where(valid, data, np.asarray(np.nan, dtype=data.dtype))
    ndim = data.ndim
    # Header axis i (1-based) is the image's axis order[i-1]; numpy axes run backwards.
    data = np.transpose(data, [ndim - order[ndim - 1 - k] for k in range(ndim)])
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    return data, header, beams


def _lazy_pixels(path, name):
    """``(keywords, data, valid)`` of a CASA image directory: its keywords, its pixels and its default mask
    (``mask0``; None without one) as dask arrays, nothing read yet."""
    keywords = _keywords(path, name)
    casa_formats_io = _casa_formats_io(name)
    try:
        data = casa_formats_io.image_to_dask(str(path), memmap=True)
        mask_name = keywords.get("Image_defaultmask") or None
        valid = None
        if mask_name and (path / mask_name).is_dir():
            valid = casa_formats_io.image_to_dask(str(path), memmap=True, mask=mask_name)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - missing or truncated tiles, an unknown storage manager
        raise _unreadable(name, "its pixels", exc) from None
    return keywords, data, valid


def casa_cube_header(path, name=None):
    """`casa_header` of a CASA image directory from its keywords and shape alone (no pixel is read).

    Parameters
    ----------
    path : str or path-like
    name : str, optional

    Returns
    -------
    header : `~astropy.io.fits.Header`
    beams : `~astropy.io.fits.BinTableHDU` or None
    """
    path = Path(path)
    name = name or str(path)
    keywords, data, _ = _lazy_pixels(path, name)  # lazy: the shape is the table's metadata
    header, beams, _ = casa_header(keywords, data.shape, name)
    return header, beams


def casa_spectral_cube(path, name=None):
    """A CASA cube directory as a spectral-cube cube, dask-backed: a channel is read from disk when asked for.

    Its WCS, unit and beams are those of `casa_header` (the FITS export's), and
    pixels outside the image's mask are NaN in its data, as exportfits writes them.

    Parameters
    ----------
    path : str or path-like
    name : str, optional

    Returns
    -------
    cube : `~spectral_cube.DaskSpectralCube` or `~spectral_cube.DaskVaryingResolutionSpectralCube`

    Raises
    ------
    astro_i2i.exceptions.InputError
        Without casa-formats-io, for a Stokes axis with several planes, or no
        spectral axis.
    """
    import dask.array as da
    from astropy.wcs import WCS
    from radio_beam import Beam, Beams
    from spectral_cube import BooleanArrayMask, DaskSpectralCube, DaskVaryingResolutionSpectralCube

    path = Path(path)
    name = name or str(path)
    keywords, data, valid = _lazy_pixels(path, name)
    if valid is not None:
        data = da.where(valid, data, np.nan)
    header, beams, order = casa_header(keywords, data.shape, name)
    ndim = data.ndim
    data = data.transpose([ndim - order[ndim - 1 - k] for k in range(ndim)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header)
    kinds = [str(ctype).split("-")[0].upper() for ctype in wcs.wcs.ctype]
    index = []
    for fits_axis in range(ndim, 0, -1):  # numpy order
        if kinds[fits_axis - 1] == "STOKES":
            if header[f"NAXIS{fits_axis}"] != 1:
                raise InputError(name, f"has a STOKES axis with {header[f'NAXIS{fits_axis}']} planes: give a "
                                       "single-Stokes cube (e.g. CASA imsubimage stokes='I')")  # fmt: skip
            index.append(0)
        else:
            index.append(slice(None))
    data = data[tuple(index)]
    wcs = wcs.sub([axis for axis in range(1, ndim + 1) if kinds[axis - 1] != "STOKES"])
    if wcs.naxis != 3 or wcs.wcs.spec < 0:
        raise InputError(name, f"has axes {', '.join(kinds)}: not a spectral cube")
    data = data.astype(np.float32)
    mask = BooleanArrayMask(da.isfinite(data), wcs)
    meta = {"BUNIT": header["BUNIT"]}
    beam = {}
    if beams is not None:
        rows = beams.data[beams.data["POL"] == 0]
        beam = {"beams": Beams(major=rows["BMAJ"] * u.arcsec, minor=rows["BMIN"] * u.arcsec, pa=rows["BPA"] * u.deg)}
    elif "BMAJ" in header:
        beam = {"beam": Beam.from_fits_header(header)}
    kind = DaskVaryingResolutionSpectralCube if "beams" in beam else DaskSpectralCube
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spectral-cube's notes on beams and units, astropy's on CASA's OBSGEO
        return kind(data, wcs, mask, meta=meta, header=header, **beam)
