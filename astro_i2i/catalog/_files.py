"""Catalogue and region files in the formats radio astronomers' tools read (no torch).

`write_catalog`: FITS, VOTable, ECSV or CSV, by the file's extension, with each
column's unit, description and UCD (`~astro_i2i.catalog.COLUMN_META`).
`write_regions`: DS9 or CASA (CRTF) region files, one ellipse per source.
Both write atomically: a temporary file, renamed once complete.
"""

import math
from pathlib import Path

import numpy as np

from ._columns import column_cards, describe_columns

__all__ = ["write_catalog", "write_regions", "catalog_format", "regions_format", "CATALOG_FORMATS",
           "REGION_FORMATS"]  # fmt: skip

#: Extension -> catalogue format.
CATALOG_FORMATS = {".fits": "fits", ".vot": "votable", ".xml": "votable", ".ecsv": "ecsv", ".csv": "csv"}
#: Extension -> region file format.
REGION_FORMATS = {".reg": "ds9", ".crtf": "crtf"}


def _format_of(path, formats, what):
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        accepted = ", ".join(formats)
        raise ValueError(f"{what} {str(path)!r}: the extension must be one of {accepted} (it names the format), "
                         f"not {suffix or 'none'!r}")  # fmt: skip
    return formats[suffix]


def catalog_format(path):
    """The catalogue format a file name asks for: ``'fits'``, ``'votable'``, ``'ecsv'`` or ``'csv'``.

    Parameters
    ----------
    path : str or path-like
        Ending in ``.fits``, ``.vot``, ``.xml``, ``.ecsv`` or ``.csv`` (any case).

    Returns
    -------
    format : str

    Raises
    ------
    ValueError
        Another extension (the message quotes the path and the accepted ones).
    """
    return _format_of(path, CATALOG_FORMATS, "catalogue file")


def regions_format(path):
    """The region format a file name asks for: ``'ds9'`` (``.reg``) or ``'crtf'`` (``.crtf``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    format : str

    Raises
    ------
    ValueError
        Another extension (the message quotes the path and the accepted ones).
    """
    return _format_of(path, REGION_FORMATS, "region file")


def _described_copy(table):
    from astropy.table import Table

    if not isinstance(table, Table):
        raise TypeError(f"table must be an astropy Table, not {type(table).__name__!r}")
    copy = table.copy(copy_data=False)
    copy.meta = dict(table.meta)
    return describe_columns(copy)


def write_catalog(table, path, *, overwrite=False):
    """Write a catalogue in the format its file name asks for, with every column's unit, description and UCD.

    - ``.fits``: a binary table (primary HDU empty) with ``TUNITn``, the
      description as ``TCOMMn`` and the UCD as ``TUCDn`` (informative; see
      `~astro_i2i.catalog.column_cards`); the table's ``meta`` as header
      keywords, non-ASCII text percent-encoded (``I2IPCENC = T``);
    - ``.vot`` or ``.xml``: a VOTable (`astropy.io.votable`), each FIELD with
      its ``unit``, ``ucd`` and DESCRIPTION, a COOSYS for ``ra``/``dec`` (the
      table's ``meta['frame']``, default ICRS) and the scalar ``meta`` as INFO
      elements; CARTA and TOPCAT overlay it by the UCDs;
    - ``.ecsv``: astropy's ECSV, units, descriptions, UCDs and ``meta`` in its
      YAML header;
    - ``.csv``: plain comma-separated values with one header row of column
      names, for spreadsheets (no units: use ``.ecsv`` to keep them).

    Known columns are described from `~astro_i2i.catalog.COLUMN_META` where
    the table does not describe them itself (`describe_columns`; the table
    given is not changed).

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        The catalogue (e.g. `posterior_catalog`, `find_sources`).
    path : str or path-like
        The file; its extension names the format (any case).
    overwrite : bool, optional
        Replace an existing file. Default False.

    Returns
    -------
    path : `pathlib.Path`

    Raises
    ------
    ValueError
        The extension is none of the above; nothing is written.
    astro_i2i.exceptions.InputError
        The file exists and ``overwrite`` is False, or its directory is
        missing or not writable; nothing is written.
    """
    from .._atomic import atomic_output

    kind = catalog_format(path)
    table = _described_copy(table)
    with atomic_output(path, overwrite=overwrite) as tmp:
        if kind == "fits":
            _write_fits(table, tmp)
        elif kind == "votable":
            _write_votable(table, tmp)
        elif kind == "ecsv":
            table.write(tmp, format="ascii.ecsv", overwrite=True)
        else:
            _plain(table).write(tmp, format="ascii.csv", overwrite=True)
    return Path(path)


def _plain(table):
    """A copy without column metadata or table meta: plain CSV writes neither."""
    from astropy.table import Table

    plain = Table()
    for name in table.colnames:
        column = table[name]
        plain[name] = np.asarray(getattr(column, "value", column))
    return plain


def _write_fits(table, tmp):
    from astropy.io import fits
    from astropy.table import Table

    from ..io import ESCAPED_KEYWORD, header_text

    table = Table(table, copy=False)
    escaped = False
    for key, value in list(table.meta.items()):
        if isinstance(value, str):
            table.meta[key] = header_text(value)
            escaped |= table.meta[key] != value
        elif isinstance(value, list):
            table.meta[key] = [header_text(item) if isinstance(item, str) else item for item in value]
            escaped |= table.meta[key] != value
        elif isinstance(value, dict):
            del table.meta[key]  # no FITS keyword holds a mapping
    if escaped:
        table.meta[ESCAPED_KEYWORD] = True
    hdu = fits.table_to_hdu(table)
    hdu.header["EXTNAME"] = hdu.header.get("EXTNAME", "CATALOG")
    column_cards(table, hdu.header)
    if any(isinstance(value, str) and len(value) > 68 for value in hdu.header.values()) and "LONGSTRN" not in hdu.header:
        hdu.header["LONGSTRN"] = ("OGIP 1.0", "The OGIP long string convention may be used")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True, output_verify="exception")


#: Frame names (astropy's, lower case) -> VOTable COOSYS system.
_COOSYS = {"icrs": ("ICRS", None), "fk5": ("eq_FK5", "J2000"), "fk4": ("eq_FK4", "B1950"),
           "galactic": ("galactic", None)}  # fmt: skip


def _write_votable(table, tmp):
    import warnings

    from astropy.io.votable import from_table
    from astropy.io.votable.tree import CooSys, Info
    from astropy.table import Table

    table = Table(table, copy=False)
    for name in table.colnames:
        column = table[name]
        # ASCII text as VOTable 'char' (readers such as CARTA's take it), not 'unicodeChar'.
        if column.dtype.kind == "U" and all(str(value).isascii() for value in column):
            table[name] = np.char.encode(np.asarray(column), "ascii")
            table[name].info.description = column.info.description
            table[name].info.meta = dict(column.info.meta or {})
    meta = dict(table.meta)
    table.meta = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's notes on meta it does not carry into a VOTable
        votable = from_table(table)
    resource = votable.resources[0]
    frame = str(meta.get("frame", meta.get("FRAME", "icrs"))).lower()
    system, equinox = _COOSYS.get(frame, ("ICRS", None))
    coosys = CooSys(ID="system", system=system, equinox=equinox)
    resource.coordinate_systems.append(coosys)
    votable_table = resource.tables[0]
    for field in votable_table.fields:
        info = table[field.name].info
        ucd = (info.meta or {}).get("ucd")
        if ucd:
            field.ucd = ucd
        if info.description:
            field.description = info.description
        unit = getattr(table[field.name], "unit", None)
        if unit is not None:
            field.unit = unit
        if field.name in ("ra", "dec"):
            field.ref = "system"
    for key, value in meta.items():
        if isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(value, bool):
            if isinstance(value, (float, np.floating)) and not math.isfinite(value):
                continue
            votable_table.infos.append(Info(name=str(key), value=str(value)))
    votable.to_xml(str(tmp))


def _beam_axes(beam):
    """(major, minor, pa) Quantities of a beam: a `~radio_beam.Beam`, a 3-tuple of Quantities, or None."""
    from astropy import units as u

    if beam is None:
        return None
    if hasattr(beam, "major") and hasattr(beam, "minor") and hasattr(beam, "pa"):
        return beam.major.to(u.arcsec), beam.minor.to(u.arcsec), beam.pa.to(u.deg)
    try:
        major, minor, pa = beam
        return u.Quantity(major, u.arcsec), u.Quantity(minor, u.arcsec), u.Quantity(pa, u.deg)
    except (TypeError, ValueError, u.UnitsError):
        raise TypeError(f"beam must be a radio_beam.Beam or (major, minor, pa) Quantities, not {beam!r}") from None


def _value(row, name, unit):
    """A row's value in ``unit`` (a float; NaN where missing), whether the table is a QTable or a Table."""
    from astropy import units as u

    if name not in row.colnames:
        return float("nan")
    value = row[name]
    if isinstance(value, u.Quantity):
        return float(value.to_value(unit))
    unit_of = getattr(row.table[name], "unit", None) if hasattr(row, "table") else None
    if unit_of is not None:
        return float((float(value) * u.Unit(unit_of)).to_value(unit))
    return float(value)


def _label(row, columns):
    """A region's label: the name (else the id), the channel of a cube's detection, the reliability."""
    text = str(row["name"]).strip() if "name" in columns else ""
    if not text and "id" in columns:
        text = str(row["id"])
    if "channel" in columns:
        text += f" ch{row['channel']}"
    if "source_id" in columns:
        text += f" src{row['source_id']}"
    if "reliability" in columns:
        reliability = float(row["reliability"])
        if math.isfinite(reliability):
            text += f" R={reliability:.2f}"
    return text.strip().replace("{", "(").replace("}", ")").replace("'", "")


def write_regions(table, path, *, beam=None, overwrite=False):
    """Write a catalogue's sources as a DS9 (``.reg``) or CASA CRTF (``.crtf``) region file.

    Each source is an ellipse of its fitted FWHM (``fwhm_maj``, ``fwhm_min``,
    ``pa``; where those are missing, NaN or zero, the beam's), drawn at
    ``ra``/``dec`` in the table's ``meta['frame']`` (default ICRS) and
    labelled with its ``name`` (its ``id`` without a name column), its
    ``channel`` and ``source_id`` for a cube's detections, and its
    ``reliability`` (``R=0.93``) where known. Without a size or a beam a
    source is a point (DS9) or a ``+`` symbol (CRTF). DS9 files start with
    the ``# Region file format: DS9`` line CARTA looks for; DS9's ellipse
    angle is ``pa + 90`` (from the RA axis), CRTF's is ``pa`` (north through
    east) with the major axis first. Written with the ``regions`` package.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        With ``ra`` and ``dec`` (deg when without units).
    path : str or path-like
        Ending in ``.reg`` (DS9) or ``.crtf`` (CRTF).
    beam : `~radio_beam.Beam` or tuple of `~astropy.units.Quantity`, optional
        The size of a source without its own; ``(major, minor, pa)``.
    overwrite : bool, optional
        Replace an existing file. Default False.

    Returns
    -------
    path : `pathlib.Path`

    Raises
    ------
    ValueError
        Another extension, or a table without ``ra``/``dec``; nothing is written.
    astro_i2i.exceptions.InputError
        The file exists and ``overwrite`` is False; nothing is written.
    """
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    from regions import EllipseSkyRegion, PointSkyRegion, Regions

    from .._atomic import atomic_output

    kind = regions_format(path)
    if not isinstance(table, Table):
        raise TypeError(f"table must be an astropy Table, not {type(table).__name__!r}")
    missing = [name for name in ("ra", "dec") if name not in table.colnames]
    if missing:
        raise ValueError(f"table has no {' or '.join(missing)} column: it cannot be drawn as regions "
                         f"(columns: {', '.join(table.colnames)})")  # fmt: skip
    fallback = _beam_axes(beam)
    frame = str(table.meta.get("frame", table.meta.get("FRAME", "icrs"))).lower() or "icrs"
    columns = table.colnames
    shapes = []
    for row in table:
        centre = SkyCoord(_value(row, "ra", u.deg) * u.deg, _value(row, "dec", u.deg) * u.deg, frame=frame)
        major, minor, pa = (_value(row, "fwhm_maj", u.arcsec), _value(row, "fwhm_min", u.arcsec),
                            _value(row, "pa", u.deg))  # fmt: skip
        if not (major > 0 and minor > 0 and math.isfinite(pa)):
            if fallback is None:
                major = minor = pa = float("nan")
            else:
                major, minor, pa = (float(fallback[0].value), float(fallback[1].value), float(fallback[2].value))
        if major > 0 and minor > 0:
            major, minor = max(major, minor), min(major, minor)
            if kind == "ds9":  # DS9: the first axis along the angle, measured from the RA axis
                region = EllipseSkyRegion(centre, width=major * u.arcsec, height=minor * u.arcsec,
                                          angle=(pa + 90) * u.deg)  # fmt: skip
            else:  # CRTF (regions writes [height, width], angle): the major axis at pa, north through east
                region = EllipseSkyRegion(centre, width=minor * u.arcsec, height=major * u.arcsec, angle=pa * u.deg)
        else:
            region = PointSkyRegion(centre)
            if kind == "crtf":
                region.visual["symbol"] = "+"
        label = _label(row, columns)
        if label:
            region.meta["text" if kind == "ds9" else "label"] = label
        shapes.append(region)
    with atomic_output(path, overwrite=overwrite) as tmp:
        if kind == "ds9" and not shapes:
            Path(tmp).write_text("# Region file format: DS9 astropy/regions\n")  # regions writes nothing at all
        elif kind == "ds9":
            Regions(shapes).write(str(tmp), format="ds9", overwrite=True, precision=8)
        else:
            # Sizes in deg: regions' reader does not take its writer's arcsec ('"'); 9 decimals are 3.6 uas.
            Regions(shapes).write(str(tmp), format="crtf", overwrite=True, coordsys=frame, fmt=".9f",
                                  radunit="deg")  # fmt: skip
    return Path(path)
