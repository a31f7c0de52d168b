"""astro-i2i's product file: sky, uncertainty, style and catalogue in one FITS file."""

import datetime
import logging
import shlex
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import QTable, Table
from astropy.wcs import WCS

from .._atomic import atomic_output
from .._version import __version__
from ..exceptions import InputError
from ._read import RadioImage, quiet_wcs

__all__ = ["write_products", "read_products", "Products", "style_wcs", "header_text", "catalog_hdu"]

logger = logging.getLogger(__name__)

SKY_UNIT = "Jy/pixel"
# Header keywords copied from the input to every image extension.
_COPIED_KEYWORDS = ("OBJECT", "TELESCOP", "INSTRUME", "OBSERVER", "DATE-OBS", "MJD-OBS", "TIMESYS", "RESTFRQ", "SPECSYS")
# Catalogue metadata keywords -> comment (with the unit, FITS-style in brackets).
_CATALOG_META_COMMENTS = {
    "NOISE": "[Jy/beam] robust noise of the dirty image",
    "CANDIDAT": "[Jy/pixel] candidates' sky-model threshold",
    "MINREL": "least reliability kept",
    "THRESH": "how sources were selected",
}
# Provenance keys -> (keyword, comment).
_PROVENANCE_KEYWORDS = {
    "model": ("I2IMODEL", "model name"),
    "model_checksum": ("I2IMDSUM", "model checkpoint checksum (sha256)"),
    "samples": ("I2INSAMP", "number of samples (K)"),
    "input": ("I2IINPUT", "input dirty image"),
    "seed": ("I2ISEED", "random seed of the samples"),
    "min_reliability": ("I2IMINRL", "catalogue: least reliability kept"),
    "steps": ("I2ISTEPS", "diffusion (DDIM) steps per sample"),
    "pb_corrected": ("I2IPBCOR", "input was PB-corrected: multiplied by the PB"),
    "primary_beam": ("I2IPB", "primary beam used for the fluxes"),
    "psf": ("I2IPSF", "PSF used: bright CLEAN, set-up check"),
    "source_density": ("I2IDENS", "reliability prior: sources per arcmin^2 given"),
    "tuned_images": ("I2ITUNE", "catalogue tuned on this many set-up simulations"),
    "tuned_seed": ("I2ITUNSD", "seed of those simulated images"),
}


#: Set (True) on a header whose provenance text had characters outside printable ASCII (a path such as
#: ``dirty_éèü_天体.fits``): there it is percent-encoded UTF-8 (`header_text`).
ESCAPED_KEYWORD = "I2IPCENC"


@dataclass(repr=False)
class Products:
    """The content of an astro-i2i product file (see `read_products`).

    Attributes
    ----------
    sky : `~numpy.ndarray`
        The ``SKY`` extension: the sky model, Jy/pixel.
    wcs : `~astropy.wcs.WCS`
        The sky model's WCS.
    header : `~astropy.io.fits.Header`
        The ``SKY`` header.
    uncertainty : `~numpy.ndarray` or None
        The ``UNCERTAINTY`` extension, Jy/pixel (None in direct mode).
    style : `~numpy.ndarray` or None
        The ``STYLE`` extension.
    style_wcs : `~astropy.wcs.WCS` or None
        The style's WCS (coarser pixels).
    catalog : `~astropy.table.QTable` or None
        The ``CATALOG`` extension.
    provenance : dict
        Model, checksum, samples, seed, input (as given, non-ASCII included), version.
    """

    sky: np.ndarray
    wcs: WCS
    header: fits.Header
    uncertainty: np.ndarray | None = None
    style: np.ndarray | None = None
    style_wcs: WCS | None = None
    catalog: QTable | None = None
    provenance: dict = field(default_factory=dict)

    def __repr__(self):
        shape = "x".join(str(n) for n in self.sky.shape)
        mode = "direct" if self.uncertainty is None else f"K = {self.provenance.get('samples')}"
        sources = "no catalogue" if self.catalog is None else f"{len(self.catalog)} source(s)"
        return (f"<Products of {self.provenance.get('input')}: {shape} sky, {mode}, {sources}, "
                f"model {self.provenance.get('model')}, seed {self.provenance.get('seed')}>")  # fmt: skip


def header_text(value):
    """``value`` as FITS header text, which takes printable ASCII only.

    Printable ASCII is returned unchanged. Otherwise every character outside
    printable ASCII, and every ``%``, is percent-encoded as UTF-8 (as in a
    URI): ``dirty_é.fits`` becomes ``dirty_%C3%A9.fits``, and
    `urllib.parse.unquote` gives the value back.

    Parameters
    ----------
    value : str

    Returns
    -------
    text : str
    """
    value = str(value)
    if all(" " <= character <= "~" for character in value):
        return value
    return "".join(character if " " <= character <= "~" and character != "%" else urllib.parse.quote(character, safe="")
                   for character in value)  # fmt: skip


def mark_long_strings(header):
    """Add ``LONGSTRN`` to a header with a string value too long for one card (written with CONTINUE cards).

    The OGIP convention asks for it beside CONTINUE cards; fitsverify warns without it.
    """
    if any(isinstance(value, str) and len(value) > 68 for value in header.values()):
        header["LONGSTRN"] = ("OGIP 1.0", "The OGIP long string convention may be used")
    return header


def style_wcs(wcs, image_shape, style_shape):
    """WCS for a style map that covers the image grid at a coarser resolution.

    Each style pixel covers a block of ``image_shape / style_shape`` image
    pixels; its reference pixel and increments are scaled to match. A 3-D
    style ``(channels, ny, nx)`` gets a third, linear ``CHANNEL`` axis.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        2-D celestial WCS of the image.
    image_shape : tuple of int
        ``(ny, nx)`` of the image.
    style_shape : tuple of int
        ``(ny, nx)`` or ``(channels, ny, nx)`` of the style.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
    """
    ny, nx = image_shape
    sy, sx = style_shape[-2:]
    factors = np.array([nx / sx, ny / sy])
    header = wcs.to_header()
    scaled = quiet_wcs(header)
    scaled.wcs.crpix = (np.asarray(wcs.wcs.crpix) - 0.5) / factors + 0.5
    if scaled.wcs.has_cd():
        scaled.wcs.cd = np.asarray(wcs.wcs.cd) * factors[np.newaxis, :]
    else:
        scaled.wcs.cdelt = np.asarray(wcs.wcs.cdelt) * factors
    if len(style_shape) == 2:
        return scaled
    header = scaled.to_header()
    header["WCSAXES"] = 3
    header["CTYPE3"], header["CUNIT3"] = "CHANNEL", ""
    header["CRPIX3"], header["CRVAL3"], header["CDELT3"] = 1.0, 0.0, 1.0
    return quiet_wcs(header)


def _image_header(image, wcs, extname, bunit, provenance):
    header = wcs.to_header()
    header["EXTNAME"] = extname
    header["BUNIT"] = bunit
    for key in _COPIED_KEYWORDS:
        if key in image.header and key not in header:
            header[key] = image.header[key]
    if image.frequency is not None:
        header["OBSFREQ"] = (image.frequency.to_value(u.Hz), "[Hz] observing frequency")
    if image.beam is not None:
        for key, value in image.beam.to_header_keywords().items():
            header[key] = (value, "[deg]" if key != "BPA" else "[deg] east of north")
    _add_provenance(header, provenance)
    return header


def _add_provenance(header, provenance):
    """Version, date, model, samples, seed, input and the command: on every HDU of a product file."""
    header["ORIGIN"] = "astro-i2i"
    header["I2IVER"] = (__version__, "astro-i2i version")
    header["DATE"] = (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "file written (UTC)")
    escaped = False
    for key, (keyword, comment) in _PROVENANCE_KEYWORDS.items():
        value = provenance.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            text = header_text(value)
            escaped |= text != value
            value = text
            if len(value) + len(comment) > 60:
                comment = ""  # long values (paths) go on a CONTINUE card without a comment
        header[keyword] = (value, comment)
    history = f"astro-i2i {__version__}: {provenance.get('command') or _command_line()}"
    text = header_text(history)
    escaped |= text != history
    if escaped:
        header[ESCAPED_KEYWORD] = (True, "non-ASCII in I2I*, HISTORY: %-encoded UTF-8")
    header["HISTORY"] = text


def _command_line():
    return " ".join(shlex.quote(arg) for arg in [Path(sys.argv[0]).name, *sys.argv[1:]])


def _check_plane(array, image, what):
    if array is None:
        return None
    array = np.asarray(array, dtype=np.float32)
    if array.shape != image.data.shape:
        raise ValueError(f"{what} has shape {array.shape}; the image's is {image.data.shape}")
    array = array.copy()
    array[np.isnan(image.data)] = np.nan
    return array


def catalog_hdu(table, extname, provenance):
    """A catalogue as a product's binary table: units (``TUNITn``), descriptions (``TCOMMn``), UCDs (``TUCDn``).

    Columns are described from `~astro_i2i.catalog.COLUMN_META` where the
    table does not describe them itself (`~astro_i2i.catalog.describe_columns`,
    on a copy); ``TUCDn`` is informative (TOPCAT's and STILTS' keyword, in no
    FITS standard). The table's ``meta`` (noise, threshold, ...) become header
    keywords with their comments, and the product's provenance is added.

    Parameters
    ----------
    table : `~astropy.table.Table`
    extname : str
        ``CATALOG`` or ``CATALOG_SOURCES``.
    provenance : dict
        As `write_products` takes it.

    Returns
    -------
    hdu : `~astropy.io.fits.BinTableHDU`
    """
    from ..catalog import column_cards, describe_columns

    copy = table.copy(copy_data=False)
    copy.meta = dict(table.meta)
    table = Table(describe_columns(copy), copy=False)
    hdu = fits.table_to_hdu(table)
    hdu.header["EXTNAME"] = extname
    for keyword, comment in _CATALOG_META_COMMENTS.items():
        if keyword in hdu.header:
            hdu.header.comments[keyword] = comment
    column_cards(table, hdu.header)
    _add_provenance(hdu.header, provenance)
    mark_long_strings(hdu.header)  # the selection rule (THRESH), a description, a long input path: CONTINUE cards
    return hdu


def write_products(path, sky, *, image, uncertainty=None, style=None, catalog=None, provenance=None,
                   overwrite=False):  # fmt: skip
    """Write astro-i2i's products to one multi-extension FITS file.

    Extensions, in order:

    - ``SKY`` (primary): the sky model in Jy/pixel on the input's grid, NaN
      where the input is blanked, with the input's beam keywords;
    - ``UNCERTAINTY``: per-pixel standard deviation, Jy/pixel (omitted when
      there is none, in which case the ``SKY`` header says so);
    - ``STYLE``: the style estimate, with a WCS matching its resolution;
    - ``CATALOG``: a binary table of sources, with each column's unit
      (``TUNITn``), description (``TCOMMn``) and UCD (``TUCDn``, informative;
      `catalog_hdu`).

    The file is written to a temporary file in the same directory and renamed.
    Provenance text outside printable ASCII (a path such as
    ``données/dirty_天体.fits``, the command line) is recorded percent-encoded
    (`header_text`), with ``I2IPCENC = T``; `read_products` decodes it.

    Parameters
    ----------
    path : str or path-like
        Output file.
    sky : `~numpy.ndarray`
        Sky model, Jy/pixel, same shape as ``image.data``.
    image : `~astro_i2i.io.RadioImage`
        The input image (for the grid, WCS, beam and header).
    uncertainty : `~numpy.ndarray`, optional
        Standard deviation per pixel, Jy/pixel.
    style : `~numpy.ndarray`, optional
        Style map, ``(ny, nx)`` or ``(channels, ny, nx)``.
    catalog : `~astropy.table.Table`, optional
        Source catalogue; any table with units.
    provenance : dict, optional
        ``model``, ``model_checksum``, ``samples``, ``input``, ``seed``,
        ``command``: written to every header.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    path : `pathlib.Path`
    """
    if not isinstance(image, RadioImage):
        raise TypeError(f"image must be a RadioImage, not {type(image).__name__!r}")
    provenance = dict(provenance or {})
    provenance.setdefault("input", image.name)
    sky = _check_plane(sky, image, "sky")
    uncertainty = _check_plane(uncertainty, image, "uncertainty")

    sky_header = _image_header(image, image.wcs, "SKY", SKY_UNIT, provenance)
    if uncertainty is None:
        sky_header["I2IUNC"] = (False, "no uncertainty map (direct mode)")
    hdus = [fits.PrimaryHDU(sky, header=sky_header)]
    if uncertainty is not None:
        hdus.append(fits.ImageHDU(uncertainty, header=_image_header(image, image.wcs, "UNCERTAINTY", SKY_UNIT,
                                                                     provenance)))  # fmt: skip
    if style is not None:
        style = np.asarray(style, dtype=np.float32)
        if style.ndim not in (2, 3):
            raise ValueError(f"style must be 2-D or 3-D, not {style.ndim}-D")
        swcs = style_wcs(image.wcs, image.data.shape, style.shape)
        style_header = _image_header(image, swcs, "STYLE", "", provenance)
        style_header.remove("BUNIT")
        hdus.append(fits.ImageHDU(style, header=style_header))
    if catalog is not None:
        if not isinstance(catalog, Table):
            raise TypeError(f"catalog must be an astropy Table, not {type(catalog).__name__!r}")
        hdus.append(catalog_hdu(catalog, "CATALOG", provenance))

    for hdu in hdus:
        # A long string (a catalogue's selection rule, a long input path) is written with CONTINUE cards.
        mark_long_strings(hdu.header)
    with atomic_output(path, overwrite=overwrite) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True, output_verify="exception")
    logger.info("wrote %s", path)
    return Path(path)


def read_products(path):
    """Read a product file written by `write_products`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    products : `Products`
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        with fits.open(path, memmap=False) as hdulist:
            names = [h.name for h in hdulist]
            if "SKY" not in names:
                raise InputError(path, "not an astro-i2i product file (no SKY extension)")
            sky_hdu = hdulist["SKY"]
            header = sky_hdu.header.copy()
            products = Products(sky=sky_hdu.data.astype(np.float32), wcs=quiet_wcs(header, path), header=header)
            if "UNCERTAINTY" in names:
                products.uncertainty = hdulist["UNCERTAINTY"].data.astype(np.float32)
            if "STYLE" in names:
                products.style = hdulist["STYLE"].data.astype(np.float32)
                products.style_wcs = quiet_wcs(hdulist["STYLE"].header, path)
            if "CATALOG" in names:
                from ..catalog import columns_from_header

                products.catalog = columns_from_header(QTable.read(hdulist["CATALOG"]))
    except OSError as exc:
        raise InputError(path, f"cannot read as FITS: {exc}") from None
    products.provenance = {key: header[kw] for key, (kw, _) in _PROVENANCE_KEYWORDS.items() if kw in header}
    if header.get(ESCAPED_KEYWORD):
        products.provenance = {key: urllib.parse.unquote(value) if isinstance(value, str) else value
                               for key, value in products.provenance.items()}  # fmt: skip
    products.provenance["version"] = header.get("I2IVER")
    return products
