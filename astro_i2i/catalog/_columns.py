"""What each catalogue column is: its unit, description and UCD, for the files other tools read (no torch).

The UCDs (IVOA Unified Content Descriptors, UCD1+) are those of the CASDA /
Selavy radio catalogues where a column has a counterpart there: a VOTable
reader (TOPCAT, CARTA, Aladin) finds the positions, fluxes and sizes by them,
whatever the columns are called.
"""

import re

__all__ = ["COLUMN_META", "describe_columns", "column_cards", "columns_from_header"]

#: Column name -> (unit string or None, description, UCD): every column of the catalogues astro-i2i writes
#: (`POSTERIOR_COLUMNS`, `CATALOG_COLUMNS`, and a cube's ``CATALOG`` and ``CATALOG_SOURCES``). A unit of None
#: is either none (a number, a name) or the image's own (``peak`` of `find_sources`).
COLUMN_META = {
    # Identification and position
    "id": (None, "source number, from 1", "meta.id;meta.main"),
    "name": (None, "IAU-style name, ALMA JHHMMSS.ss+DDMMSS.s (coordinates truncated)", "meta.id"),
    "ra": ("deg", "right ascension", "pos.eq.ra;meta.main"),
    "ra_err": ("arcsec", "1-sigma error of ra, along the sky", "stat.error;pos.eq.ra"),
    "dec": ("deg", "declination", "pos.eq.dec;meta.main"),
    "dec_err": ("arcsec", "1-sigma error of dec", "stat.error;pos.eq.dec"),
    "x": ("pix", "0-based pixel x", "pos.cartesian.x;instr.pixel"),
    "y": ("pix", "0-based pixel y", "pos.cartesian.y;instr.pixel"),
    # Fluxes
    "flux": ("Jy", "integrated flux density", "phot.flux.density;em.radio"),
    "flux_err": ("Jy", "1-sigma error of flux", "stat.error;phot.flux.density;em.radio"),
    "peak_flux": ("Jy/beam", "peak brightness on the dirty (or restored) image, primary-beam corrected",
                  "phot.flux.density;stat.max;em.radio"),
    "peak_flux_err": ("Jy/beam", "1-sigma error of peak_flux", "stat.error;phot.flux.density;stat.max;em.radio"),
    "local_rms": ("Jy/beam", "robust noise of the image around the source", "stat.stdev;phot.flux.density"),
    "model_peak": ("Jy/pixel", "the sky model's value at its peak (Jy/pixel; not comparable with peak_flux)",
                   "phot.flux.density;stat.max;meta.modelled"),
    "peak": (None, "peak pixel value, in the image's unit", "phot.flux.density;stat.max"),
    "snr": (None, "signal-to-noise ratio, flux / flux_err", "stat.snr"),
    "mf_snr": (None, "S/N of the dirty image's matched filter at the position", "stat.snr"),
    # Shape
    "fwhm_maj": ("arcsec", "FWHM of the major axis", "phys.angSize.smajAxis;em.radio"),
    "fwhm_min": ("arcsec", "FWHM of the minor axis", "phys.angSize.sminAxis;em.radio"),
    "pa": ("deg", "position angle of the major axis, east of north, 0-180", "pos.posAng;em.radio"),
    "fwhm_limit": ("arcsec", "unresolved ('point') sources: upper limit on the deconvolved FWHM",
                   "phys.angSize;stat.max"),
    "size_err": ("arcsec", "1-sigma error of fwhm_maj and fwhm_min", "stat.error;phys.angSize"),
    "pa_err": ("deg", "1-sigma error of pa", "stat.error;pos.posAng"),
    "morphology": (None, "'point' (unresolved) or 'extended'; '' where not measured", "src.morph"),
    "bright": (None, "True for bright emission CLEANed before the network, False for the network's sources",
               "meta.code"),
    # Reliability
    "detection_fraction": (None, "fraction of the style samples in which the source is found (NaN if not computed)",
                           "stat.confidenceLevel"),
    "reliability": (None, "calibrated probability that the source is real", "stat.probability"),
    # A cube's CATALOG (one row per detection in a channel)
    "source_id": (None, "id of the CATALOG_SOURCES row (the source merged across channels) this detection belongs to",
                  "meta.id.parent"),
    "channel": (None, "0-based channel index of the detection", "em.bin"),
    "freq": ("GHz", "frequency of the channel", "em.freq"),
    "velocity": ("km/s", "velocity of the channel (the cube's spectral axis)", "spect.dopplerVeloc.radio"),
    "spectral": (None, "spectral coordinate of the channel, in the cube's unit", "spect"),
    # A cube's CATALOG_SOURCES (one row per source, merged across channels)
    "peak_channel": (None, "0-based channel of the source's brightest detection", "em.bin"),
    "peak_freq": ("GHz", "frequency of peak_channel", "em.freq"),
    "peak_velocity": ("km/s", "velocity of peak_channel", "spect.dopplerVeloc.radio"),
    "peak_spectral": (None, "spectral coordinate of peak_channel, in the cube's unit", "spect"),
    "flux_peak": ("Jy", "flux density in peak_channel (the largest over the channels)",
                  "phot.flux.density;stat.max;em.radio"),
    "flux_integrated": (None, "sum over the source's channels of flux x channel width", "phot.flux;em.radio"),
    "n_channels": (None, "number of channels in which the source is detected", "meta.number"),
}  # fmt: skip


def _is_text(column):
    return getattr(column, "dtype", None) is not None and column.dtype.kind in "USOb"


def describe_columns(table):
    """Fill in each known column's unit, description and UCD from `COLUMN_META`, where the table lacks them.

    A producer's own description (`POSTERIOR_COLUMNS` says how each value was
    measured) and unit are kept: only what is missing is set. Every writer
    (`write_catalog`, the product's ``CATALOG`` extensions) calls it, so that
    a table read back from an older file, or a cube's added columns, are
    described too.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        Changed in place. Columns not in `COLUMN_META` are left as they are.

    Returns
    -------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        The same table: each known column with ``unit`` (where it had none
        and one is defined), ``info.description`` and ``info.meta['ucd']``.
    """
    from astropy.table import Table

    if not isinstance(table, Table):
        raise TypeError(f"table must be an astropy Table, not {type(table).__name__!r}")
    for name in table.colnames:
        if name not in COLUMN_META:
            continue
        unit, description, ucd = COLUMN_META[name]
        column = table[name]
        if unit is not None and getattr(column, "unit", None) is None and not _is_text(column):
            column.unit = unit
        if not column.info.description:
            column.info.description = description
        meta = column.info.meta
        if meta is None:
            column.info.meta = meta = {}
        meta.setdefault("ucd", ucd)
    return table


#: A FITS card holds 68 characters of a string value; longer ones go on CONTINUE cards (LONGSTRN marks them).
_CARD_TEXT = 68
_COLUMN_KEYWORD = re.compile(r"^(TCOMM|TUCD)(\d+)$")


def column_cards(table, header):
    """Write each column's description (``TCOMMn``) and UCD (``TUCDn``) into a binary table's header.

    ``TCOMMn`` is the HEASARC convention for a column's description (fitsverify
    knows it; TOPCAT shows it); ``TUCDn`` is the UCD keyword TOPCAT and STILTS
    read and write (informative: no FITS standard defines it). Each card
    follows its column's ``TFORMn``/``TUNITn``. Cards for columns without a
    description or UCD, and any ``TCOMMn``/``TUCDn`` copied from the table's
    ``meta``, are removed first.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The table the header was made from (`astropy.io.fits.table_to_hdu`),
        with the same columns in the same order.
    header : `~astropy.io.fits.Header`
        Changed in place.

    Returns
    -------
    header : `~astropy.io.fits.Header`
    """
    for keyword in [key for key in header if _COLUMN_KEYWORD.match(key)]:
        del header[keyword]
    long_text = False
    for n, name in enumerate(table.colnames, start=1):
        info = table[name].info
        own = [i for i, key in enumerate(header.keys()) if re.fullmatch(rf"T[A-Z]+{n}", key)]
        after = header.cards[own[-1]].keyword if own else None
        for keyword, value in ((f"TCOMM{n}", info.description), (f"TUCD{n}", (info.meta or {}).get("ucd"))):
            if not value:
                continue
            value = _ascii(str(value))
            long_text |= len(value) > _CARD_TEXT
            if after is None:
                header[keyword] = value
            else:
                header.insert(after, (keyword, value), after=True)
            after = keyword
    if long_text and "LONGSTRN" not in header:
        header["LONGSTRN"] = ("OGIP 1.0", "The OGIP long string convention may be used")
    return header


def columns_from_header(table):
    """Move a FITS table's ``TCOMMn``/``TUCDn`` cards from its ``meta`` into its columns (description, UCD).

    `astropy.table.Table.read` keeps the cards it does not know in ``meta``;
    this puts them back where `column_cards` took them from.

    Parameters
    ----------
    table : `~astropy.table.Table`
        As read from a binary table; changed in place.

    Returns
    -------
    table : `~astropy.table.Table`
    """
    for key in [key for key in table.meta if _COLUMN_KEYWORD.match(str(key).upper())]:
        kind, n = _COLUMN_KEYWORD.match(str(key).upper()).groups()
        value = table.meta.pop(key)
        if not 1 <= int(n) <= len(table.colnames):
            continue
        info = table[table.colnames[int(n) - 1]].info
        if kind == "TCOMM":
            info.description = value
        else:
            if info.meta is None:
                info.meta = {}
            info.meta["ucd"] = value
    return table


def _ascii(text):
    """Header text is printable ASCII: other characters percent-encoded (as `astro_i2i.io.header_text` does)."""
    if all(" " <= character <= "~" for character in text):
        return text
    from urllib.parse import quote

    return "".join(c if " " <= c <= "~" and c != "%" else quote(c, safe="") for c in text)
