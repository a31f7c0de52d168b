"""One parser for every form of dirty-image input."""

import dataclasses
import gzip
import logging
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_scales
from radio_beam import Beam

from ..exceptions import InputError
from ._beam import beam_from_header, beam_from_history, fit_psf_beam, parse_beam_string
from ._casa import CASA_ENDINGS, is_casa_image, read_casa_image

__all__ = ["RadioImage", "read_image", "read_sky_image", "read_hdu", "read_psf", "read_primary_beam",
           "find_primary_beam", "find_psf", "unitless_image_kind"]

logger = logging.getLogger(__name__)

JY_PER_BEAM = u.Jy / u.beam

# Lower-cased BUNIT spellings -> factor to Jy/beam.
_BEAM_UNITS = {
    "jy/beam": 1.0,
    "jy/bm": 1.0,
    "jy beam-1": 1.0,
    "jy.beam-1": 1.0,
    "mjy/beam": 1e-3,
    "mjy beam-1": 1e-3,
    "ujy/beam": 1e-6,
    "µjy/beam": 1e-6,
    "ujy beam-1": 1e-6,
}
# Sky-model units: factor to Jy/pixel.
_PIXEL_UNITS = {"jy/pixel": 1.0, "jy/pix": 1.0, "jy pixel-1": 1.0, "jy pix-1": 1.0, "mjy/pixel": 1e-3}
_SKY_UNITS = set(_PIXEL_UNITS) | {"jy/sr", "mjy/sr"}
_SPECTRAL_TYPES = ("FREQ", "VRAD", "VOPT", "VELO", "FELO", "WAVE", "AWAV", "ZOPT", "BETA", "ENER", "WAVN")


@dataclass
class RadioImage:
    """A 2-D radio image as astro-i2i understands it.

    Attributes
    ----------
    data : `~numpy.ndarray`
        2-D float32 pixel values in ``unit``; blanked pixels are NaN.
    wcs : `~astropy.wcs.WCS`
        The 2-D celestial WCS of ``data``.
    beam : `~radio_beam.Beam` or None
        The synthesized (clean) beam, if known.
    beam_source : str
        Where the beam came from: ``'header'``, ``'history'``, ``'psf'``,
        ``'argument'`` or ``'none'``.
    unit : `~astropy.units.Unit`
        Brightness unit of ``data`` (always Jy/beam for a dirty image).
    frequency : `~astropy.units.Quantity` or None
        Observing frequency.
    header : `~astropy.io.fits.Header`
        The original header, untouched.
    name : str
        Where the image came from (a file name, or a description).
    hdu_index : int or None
        Index of the HDU read, where the input was a file or HDU list.
    original_unit : str
        BUNIT as written in the header ('' if missing).
    """

    data: np.ndarray
    wcs: WCS
    beam: Beam | None
    beam_source: str
    unit: u.UnitBase
    frequency: u.Quantity | None
    header: fits.Header
    name: str
    hdu_index: int | None = None
    original_unit: str = ""
    original_axes: tuple = field(default_factory=tuple)

    @property
    def shape(self):
        """Shape of ``data`` (ny, nx)."""
        return self.data.shape

    @property
    def pixel_scale(self):
        """Pixel size as an angle (pixels are square)."""
        return (proj_plane_pixel_scales(self.wcs)[0] * u.deg).to(u.arcsec)

    @property
    def centre(self):
        """Sky position of the image centre, a `~astropy.coordinates.SkyCoord`."""
        ny, nx = self.data.shape
        return self.wcs.pixel_to_world((nx - 1) / 2, (ny - 1) / 2)

    @property
    def reference_position(self):
        """Sky position of the WCS reference pixel (the phase centre, for CASA and WSClean images)."""
        return self.wcs.pixel_to_world(*(np.asarray(self.wcs.wcs.crpix) - 1))

    @property
    def blank_fraction(self):
        """Fraction of pixels that are blanked (NaN)."""
        return float(np.isnan(self.data).mean())

    @property
    def beam_area_pixels(self):
        """Beam area in pixels, or None without a beam."""
        if self.beam is None:
            return None
        return float((self.beam.sr / (self.pixel_scale**2)).decompose())


def _describe(image):
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    if isinstance(image, fits.HDUList):
        return getattr(image, "filename", lambda: None)() or "<HDUList>"
    if isinstance(image, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return f"<{type(image).__name__}>"
    return "<array>"


def _is_image_hdu(hdu):
    return isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) and hdu.header.get("NAXIS", 0) > 0


def _select_hdu(hdulist, hdu, name):
    """Pick the image HDU: the one asked for, else the only one with data."""
    if hdu is not None:
        try:
            chosen = hdulist[hdu]
        except (KeyError, IndexError):
            raise InputError(name, f"has no HDU {hdu!r} (it has {len(hdulist)} HDUs)") from None
        if not _is_image_hdu(chosen):
            raise InputError(name, f"HDU {hdu!r} is not an image with data")
        return chosen, hdulist.index_of(hdu) if not isinstance(hdu, int) else hdu
    candidates = [i for i, h in enumerate(hdulist) if _is_image_hdu(h)]
    if not candidates:
        raise InputError(name, "has no image HDU with data")
    if len(candidates) > 1:
        raise InputError(name, f"has several image HDUs ({', '.join(map(str, candidates))}); choose one with --hdu / hdu=")
    return hdulist[candidates[0]], candidates[0]


def _load_data(hdu, name):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            data = hdu.data
    except (OSError, ValueError, TypeError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        if "reshape" in str(exc) or "truncated" in str(exc).lower():
            raise InputError(name, "file truncated: it holds fewer data bytes than its header's NAXIS values need "
                                   "(copy or download it again)") from None
        raise InputError(name, f"cannot read the image data: file truncated or corrupt ({exc})") from None
    if data is None:
        raise InputError(name, "image HDU has no data")
    expected = tuple(hdu.header.get(f"NAXIS{i}", 0) for i in range(hdu.header.get("NAXIS", 0), 0, -1))
    if tuple(data.shape) != expected:
        raise InputError(name, f"image data have shape {data.shape}, header says {expected}: file truncated "
                               "(copy or download it again)")
    return data


def quiet_wcs(header, name="header"):
    """``WCS(header)`` without astropy's FITSFixedWarning (CASA's OBSGEO/MJD fixes); logged at debug level."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FITSFixedWarning)
        wcs = WCS(header)
    for warning in caught:
        if issubclass(warning.category, FITSFixedWarning):
            logger.debug("%s: WCS header fixed: %s", name, " ".join(str(warning.message).split()))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return wcs


def _celestial_plane(data, header, name):
    """Reduce N-D data to the 2-D celestial plane, returning (data, wcs, axis types)."""
    ndim = data.ndim
    if ndim < 2:
        raise InputError(name, f"data are {ndim}-D; a 2-D image is needed")
    try:
        wcs = quiet_wcs(header, name)
    except Exception as exc:  # astropy raises several types for broken WCS
        raise InputError(name, f"invalid WCS: {exc}") from None
    ctypes = [str(c) for c in wcs.wcs.ctype]
    if wcs.naxis != ndim:
        raise InputError(name, f"header has {wcs.naxis} WCS axes but the data have {ndim}")
    lng, lat = wcs.wcs.lng, wcs.wcs.lat
    if lng < 0 or lat < 0 or not wcs.has_celestial:
        shown = ", ".join(c or "''" for c in ctypes)
        raise InputError(name, f"no celestial WCS (axis types: {shown}); RA/Dec axes are needed")
    index = []
    for fits_axis in range(ndim - 1, -1, -1):  # numpy order
        if fits_axis in (lng, lat):
            index.append(slice(None))
            continue
        length = data.shape[ndim - 1 - fits_axis]
        if length != 1:
            kind = ctypes[fits_axis].split("-")[0] or f"axis {fits_axis + 1}"
            if kind.upper() in _SPECTRAL_TYPES:
                what = f"a spectral axis ({kind}) with {length} channels: a cube; read it with read_cube " \
                    "(astro-i2i reconstruct and Reconstructor.reconstruct take cubes)"
            elif kind.upper() == "STOKES":
                plane = _stokes_i_plane(header, fits_axis + 1, length)
                if plane is not None:
                    logger.info("%s: Stokes I (plane %d of %d)", name, plane + 1, length)
                    index.append(plane)
                    continue
                what = f"a STOKES axis with {length} planes and no Stokes I: give a Stokes I image"
            else:
                what = f"a non-celestial axis {kind} of length {length}; only length-1 extra axes are allowed"
            raise InputError(name, f"has {what}")
        index.append(0)
    plane = data[tuple(index)]
    # Remaining numpy axes are the celestial ones, in decreasing FITS-axis order.
    remaining = sorted((lng, lat), reverse=True)
    if remaining != [lat, lng]:
        plane = plane.T
    celestial = wcs.sub([lng + 1, lat + 1])
    return plane, celestial, tuple(ctypes)


def _stokes_i_plane(header, axis, length):
    """The 0-based plane of Stokes I (FITS code 1) along STOKES axis ``axis`` (1-based), or None."""
    try:
        crval, cdelt = float(header.get(f"CRVAL{axis}", 1.0)), float(header.get(f"CDELT{axis}", 1.0))
        crpix = float(header.get(f"CRPIX{axis}", 1.0))
    except (TypeError, ValueError):
        return None
    codes = crval + (np.arange(length) + 1 - crpix) * cdelt
    found = np.flatnonzero(np.isclose(codes, 1.0))
    return int(found[0]) if found.size else None


def _frequency(header, wcs_types):
    for i, ctype in enumerate(wcs_types, start=1):
        if ctype.upper().startswith("FREQ") and f"CRVAL{i}" in header:
            unit = u.Unit(str(header.get(f"CUNIT{i}", "Hz")).strip() or "Hz", parse_strict="silent")
            try:
                return (float(header[f"CRVAL{i}"]) * unit).to(u.GHz)
            except (u.UnitConversionError, TypeError, ValueError):
                return None
    for key in ("RESTFRQ", "RESTFREQ", "OBSFREQ", "FREQ"):
        if key in header:
            try:
                value = float(header[key])
            except (TypeError, ValueError):
                continue
            if value > 0:
                return (value * u.Hz).to(u.GHz)
    return None


def _brightness_scale(header, name, allow_sky=False):
    """Factor that converts the data to Jy/beam (or Jy/pixel), the original BUNIT, and the unit."""
    bunit = str(header.get("BUNIT", "")).strip()
    key = " ".join(bunit.lower().split())
    if not key:
        logger.warning("%s: no BUNIT keyword; assuming Jy/beam", name)
        return 1.0, bunit, JY_PER_BEAM
    if key in _BEAM_UNITS:
        return _BEAM_UNITS[key], bunit, JY_PER_BEAM
    if allow_sky and key in _PIXEL_UNITS:
        return _PIXEL_UNITS[key], bunit, u.Jy / u.pix
    if key in _SKY_UNITS:
        raise InputError(
            name, f"brightness unit is '{bunit}': this is a sky model, not a dirty image (Jy/beam is needed)"
        )
    raise InputError(name, f"unsupported brightness unit BUNIT='{bunit}' (Jy/beam or mJy/beam is needed)")


def _check_square_pixels(wcs, name):
    matrix = wcs.pixel_scale_matrix
    scales = np.sqrt((matrix**2).sum(axis=0))
    if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise InputError(name, "WCS has a zero or invalid pixel scale")
    if abs(scales[0] - scales[1]) > 1e-4 * scales.max():
        sx, sy = (scales * 3600).tolist()
        raise InputError(name, f"pixels are not square ({sx:.4g}\" x {sy:.4g}\"); resample to square pixels first")
    # Skewed axes (non-orthogonal columns) are not square pixels either.
    cosine = abs(np.dot(matrix[:, 0], matrix[:, 1])) / (scales[0] * scales[1])
    if cosine > 1e-4:
        raise InputError(name, "pixel axes are skewed; resample to square pixels first")


def read_hdu(image, *, hdu=None):
    """Turn any supported input into ``(data, header, name, hdu_index)``.

    This is the low-level parser behind `read_image`: it opens files, selects
    the image HDU and reads the raw data, without interpreting them.

    Parameters
    ----------
    image : str, path-like, `~astropy.io.fits.HDUList`, image HDU, or ``(array, header)``
        The input.
    hdu : int or str, optional
        The HDU to read from a file or HDU list; by default the only image HDU.

    Returns
    -------
    data : `~numpy.ndarray`
    header : `~astropy.io.fits.Header`
    name : str
    hdu_index : int or None
    """
    name = _describe(image)
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.exists():
            raise InputError(name, "file not found")
        if path.is_dir():
            if is_casa_image(path):
                if hdu not in (None, 0):
                    raise InputError(name, f"is a CASA image directory: it has no HDU {hdu!r} (drop --hdu / hdu=)")
                data, header, _ = read_casa_image(path, name)
                return data, header, name, None
            if path.suffix.lower() in CASA_ENDINGS:
                raise InputError(name, "is a directory named as a CASA image but without its table (no table.dat): "
                                       "give the whole image directory tclean wrote, or its FITS export")  # fmt: skip
            raise InputError(name, "is a directory, not a FITS file or a CASA image")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AstropyWarning)
                with fits.open(path, memmap=False) as hdulist:
                    selected, index = _select_hdu(hdulist, hdu, name)
                    data = _load_data(selected, name)
                    header = selected.header.copy()
        except InputError:
            raise
        except (OSError, ValueError, TypeError, EOFError, IndexError, zlib.error, gzip.BadGzipFile) as exc:
            text = str(exc)
            if "SIMPLE" in text or "Empty or corrupt FITS file" in text or isinstance(exc, gzip.BadGzipFile):
                raise InputError(name, "not a FITS file (or corrupt)") from None
            if "truncated" in text.lower() or "reshape" in text or "multiple of 2880" in text:
                raise InputError(name, "file truncated: its header or data end early (copy or download it "
                                       "again)") from None
            raise InputError(name, f"cannot read as FITS: {text}") from None
        return data, header, name, index
    if isinstance(image, fits.HDUList):
        selected, index = _select_hdu(image, hdu, name)
        return _load_data(selected, name), selected.header.copy(), name, index
    if isinstance(image, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return _load_data(image, name), image.header.copy(), name, None
    if isinstance(image, tuple) and len(image) == 2:
        data, header = image
        if not isinstance(header, (fits.Header, WCS)):
            raise TypeError(f"(array, header) input needs an astropy Header, got {type(header).__name__!r}")
        if isinstance(header, WCS):
            header = header.to_header()
        return np.asarray(data), header.copy(), name, None
    raise TypeError(
        "image must be a file path, an HDUList, an image HDU or an (array, header) tuple, "
        f"not {type(image).__name__!r}"
    )


def read_image(image, *, hdu=None, psf=None, beam=None, name=None):
    """Read a dirty image in any supported form.

    Parameters
    ----------
    image : str, path-like, `~astropy.io.fits.HDUList`, image HDU, ``(array, header)`` or `RadioImage`
        A FITS file (``.fits`` or ``.fits.gz``), an HDU list, an image HDU, or
        a data array with its header. 2-D images and 3-D/4-D images whose
        frequency axis has length 1, in any axis order; of a STOKES axis with
        several planes, Stokes I is read (an error without one). A
        `RadioImage` (read already) is returned as it is, without ``hdu``,
        ``psf`` or ``beam``.
    hdu : int or str, optional
        HDU to read; by default the only image HDU with data.
    psf : same forms as ``image``, optional
        The point-spread function; its main lobe is fitted for the beam.
    beam : `~radio_beam.Beam` or str, optional
        The beam, or ``"BMAJ,BMIN,BPA"`` in arcsec, arcsec, degrees.
    name : str, optional
        Name to use in messages instead of the file name.

    Returns
    -------
    image : `RadioImage`

    Raises
    ------
    astro_i2i.exceptions.InputError
        For anything that makes the input unusable; the message names the input
        and the problem.
    TypeError
        If ``image`` is of an unsupported type.

    Notes
    -----
    The beam is taken, in this order, from the ``beam`` argument, from a fit to
    the main lobe of ``psf``, from the ``BMAJ``/``BMIN``/``BPA`` keywords, and
    from the beam that CASA or AIPS wrote in ``HISTORY`` cards. An explicit
    ``beam`` or ``psf`` overrides the header (a warning is logged where they
    disagree by more than 5 %). An image with no beam at all is accepted:
    ``beam`` is then None and ``beam_source`` is ``'none'``.
    """
    if isinstance(image, RadioImage) and hdu is None and psf is None and beam is None:
        return image if name is None else dataclasses.replace(image, name=name)  # read already
    return _read(image, hdu=hdu, psf=psf, beam=beam, name=name, allow_sky=False)


def read_sky_image(image, *, hdu=None, beam=None, name=None):
    """Read an image in Jy/pixel (a sky model) or Jy/beam (a restored image).

    The same parser as `read_image`, for catalogues: a sky model is accepted
    and its ``unit`` is Jy/pixel. Product files written by `write_products`
    are read from their ``SKY`` extension unless ``hdu`` says otherwise.

    Parameters
    ----------
    image : str, path-like, HDU, `~astropy.io.fits.HDUList` or ``(array, header)``
        The image, in any form `read_image` takes.
    hdu : int or str, optional
        The HDU to read; default None (a product's ``SKY``, else as
        `read_image` chooses).
    beam : `~radio_beam.Beam`, optional
        The beam, where the header has none.
    name : str, optional
        Name used in messages; default from the input.

    Returns
    -------
    image : `RadioImage`
    """
    if hdu is None and isinstance(image, (str, os.PathLike)) and Path(image).exists():
        try:
            with fits.open(image) as hdulist:
                if "SKY" in [h.name for h in hdulist]:
                    hdu = "SKY"
        except OSError:
            pass  # read_hdu gives the proper error
    return _read(image, hdu=hdu, psf=None, beam=beam, name=name, allow_sky=True)


def _read(image, *, hdu, psf, beam, name, allow_sky):
    raw, header, described, hdu_index = read_hdu(image, hdu=hdu)
    name = name or described
    raw = np.asarray(raw)
    if raw.dtype.kind not in "fiu":
        raise InputError(name, f"image data have type {raw.dtype}, not numbers")
    plane, wcs, axes = _celestial_plane(raw, header, name)
    scale, bunit, unit = _brightness_scale(header, name, allow_sky)
    data = np.array(plane, dtype=np.float32)  # native byte order, a copy
    if scale != 1.0:
        data *= np.float32(scale)
    infinite = np.isinf(data)
    if infinite.any():
        logger.warning("%s: %d infinite pixel values treated as blank", name, int(infinite.sum()))
        data[infinite] = np.nan
    if not np.isfinite(data).any():
        raise InputError(name, "all pixels are blank (NaN)")
    if min(data.shape) < 2:
        raise InputError(name, f"image is {data.shape[1]} x {data.shape[0]} pixels; too small")
    _check_square_pixels(wcs, name)

    header_beam, source = beam_from_header(header), "header"
    if header_beam is None:
        header_beam, source = beam_from_history(header), "history"
    chosen, chosen_source = header_beam, source if header_beam is not None else "none"
    if psf is not None:
        chosen, chosen_source = _beam_from_psf(psf, name, image_wcs=wcs), "psf"
    if beam is not None:
        chosen, chosen_source = _beam_argument(beam), "argument"
    if header_beam is not None and chosen is not header_beam:
        ratio = float(chosen.major / header_beam.major)
        if abs(ratio - 1) > 0.05:
            logger.warning(
                "%s: the %s beam (%s x %s) differs from the header's (%s x %s); using the %s beam",
                name, chosen_source, _arcsec(chosen.major), _arcsec(chosen.minor),
                _arcsec(header_beam.major), _arcsec(header_beam.minor), chosen_source,
            )  # fmt: skip
    return RadioImage(
        data=data,
        wcs=wcs,
        beam=chosen,
        beam_source=chosen_source,
        unit=unit,
        frequency=_frequency(header, axes),
        header=header,
        name=name,
        hdu_index=hdu_index,
        original_unit=bunit,
        original_axes=axes,
    )


def _beam_argument(beam):
    if isinstance(beam, Beam):
        return beam
    if isinstance(beam, str):
        try:
            return parse_beam_string(beam)
        except ValueError as exc:
            raise InputError("beam", str(exc)) from None
    raise TypeError(f"beam must be a radio_beam.Beam or a 'BMAJ,BMIN,BPA' string, not {type(beam).__name__!r}")


def _beam_from_psf(psf, image_name, *, image_wcs=None):
    raw, header, name, _ = read_hdu(psf)
    plane, wcs, _ = _celestial_plane(np.asarray(raw), header, name)
    if image_wcs is not None:
        _check_psf_grid(wcs, image_wcs, name, image_name)
    bunit = " ".join(str(header.get("BUNIT", "")).lower().split())
    if bunit in _SKY_UNITS or bunit in _BEAM_UNITS:
        raise InputError(name, f"has brightness unit '{header['BUNIT']}': an image, not a PSF (peak 1, no unit)")
    _refuse_primary_beam_as_psf(plane, name)
    peak = np.nanmax(plane) if np.isfinite(plane).any() else np.nan
    if not abs(peak - 1) < 0.05:
        logger.warning("%s: PSF peak is %.3g, not 1; is this really a PSF?", name, peak)
    try:
        return fit_psf_beam(np.asarray(plane, dtype=float), wcs)
    except ValueError as exc:
        raise InputError(name, f"cannot fit the PSF for {image_name}: {exc}") from None


def _refuse_primary_beam_as_psf(plane, name):
    """A primary beam (0 to 1, no negative sidelobes, high over most of the map) given as a PSF is named as one."""
    finite = np.asarray(plane, dtype=float)[np.isfinite(plane)]
    if finite.size and finite.min() >= 0 and np.nanmax(finite) <= 1.05 and np.median(finite) > 0.2:
        raise InputError(name, "looks like a primary beam (no negative sidelobes, above 0.2 over most of the map), "
                               "not a PSF: pass it as --pb / primary_beam=, and the .psf file as --psf")


def _arcsec(angle):
    """An angle in arcsec with enough digits for a beam given in degrees by mistake (not 0.000\")."""
    value = angle.to_value(u.arcsec)
    return f"{value:.3f}\"" if abs(value) >= 0.1 or value == 0 else f"{value:.3g}\""


def _check_psf_grid(psf_wcs, image_wcs, name, image_name):
    """A PSF must be on the image's pixel grid; one from another pointing is named in a warning."""
    psf_scale = proj_plane_pixel_scales(psf_wcs) * 3600
    image_scale = proj_plane_pixel_scales(image_wcs) * 3600
    if not np.allclose(psf_scale, image_scale, rtol=0.01):
        raise InputError(name, f"PSF pixels are {psf_scale[0]:.4g}\" but {image_name}'s are {image_scale[0]:.4g}\": "
                               "not the PSF of this image")  # fmt: skip
    from astropy.coordinates import SkyCoord

    centres = [SkyCoord.from_pixel(*(np.asarray(w.wcs.crpix[:2]) - 1), w) for w in (psf_wcs, image_wcs)]
    offset = centres[0].separation(centres[1]).to_value(u.arcsec)
    if offset > image_scale[0]:
        logger.warning("%s: PSF reference position is %.3g\" from %s's; is it the PSF of another pointing?", name,
                       offset, image_name)  # fmt: skip


def read_psf(psf, *, image, hdu=None):
    """The PSF of ``image``, checked, as a 2-D array on its pixel grid.

    Parameters
    ----------
    psf : str, path-like, HDUList, HDU or ``(array, header)``
        The PSF the imager wrote beside the dirty image (tclean's ``.psf``
        exported to FITS, WSClean's ``-psf.fits``): the same pixel size, at
        least the image's size, peak 1 at pixel ``(n // 2, n // 2)``.
    image : `RadioImage`
        The dirty image it belongs to.
    hdu : int or str, optional

    Returns
    -------
    psf : `~numpy.ndarray`
        float64, NaN replaced by 0.

    Raises
    ------
    astro_i2i.exceptions.InputError
        For a cube, another grid, an off-centre or unnormalised peak, or an
        image with a brightness unit; the message says what to pass instead.
    """
    raw, header, name, _ = read_hdu(psf, hdu=hdu)
    raw = np.asarray(raw)
    if sum(n > 1 for n in raw.shape) > 2:
        raise InputError(name, f"is a cube (shape {raw.shape}), not the PSF of one image: pass one channel's PSF, "
                               "or the PSF of a continuum image (tclean specmode='mfs')")  # fmt: skip
    plane, wcs, _ = _celestial_plane(raw, header, name)
    bunit = " ".join(str(header.get("BUNIT", "")).lower().split())
    if bunit in _SKY_UNITS or bunit in _BEAM_UNITS:
        raise InputError(name, f"has brightness unit '{header['BUNIT']}': an image, not a PSF; pass the .psf file the "
                               "imager wrote beside the dirty image")  # fmt: skip
    psf_scale = proj_plane_pixel_scales(wcs)[0] * 3600
    if not np.isclose(psf_scale, image.pixel_scale.to_value(u.arcsec), rtol=0.01):
        raise InputError(name, f"PSF pixels are {psf_scale:.4g}\" but {image.name}'s are "
                               f"{image.pixel_scale.to_value(u.arcsec):.4g}\": pass the PSF imaged with the dirty "
                               "image (same cell size)")  # fmt: skip
    ny, nx = plane.shape
    if ny < image.shape[0] or nx < image.shape[1]:
        raise InputError(name, f"PSF is {nx} x {ny} pixels, smaller than {image.name}'s {image.shape[1]} x "
                               f"{image.shape[0]}: pass the PSF imaged with the dirty image (same imsize) or a "
                               "larger one")  # fmt: skip
    _refuse_primary_beam_as_psf(plane, name)
    plane = np.nan_to_num(np.asarray(plane, dtype=np.float64))
    iy, ix = np.unravel_index(int(np.argmax(plane)), plane.shape)
    if max(abs(iy - ny // 2), abs(ix - nx // 2)) > 1:
        raise InputError(name, f"PSF peak is at pixel ({ix}, {iy}), not at the centre ({nx // 2}, {ny // 2}): pass "
                               "a PSF centred on its grid, as tclean and WSClean write it")  # fmt: skip
    peak = float(plane[iy, ix])
    if abs(peak - 1) > 0.01:
        raise InputError(name, f"PSF peak is {peak:.4g}, not 1: pass a PSF normalised to a peak of 1 (divide it by "
                               "its peak)")  # fmt: skip
    return plane


def read_primary_beam(primary_beam, *, image, hdu=None):
    """A primary-beam image (CASA's ``.pb``, WSClean's ``-pb.fits``) on ``image``'s grid, NaN as 0.

    The one reader of every primary beam astro-i2i takes (``--pb``, ``primary_beam=``,
    a ``.pb`` found beside the input): the file is read once, and what is not a
    primary beam is refused with the reason.

    Parameters
    ----------
    primary_beam : str, path-like, HDU, HDUList, ``(array, header)`` or `~numpy.ndarray`
        The primary beam.
    image : `RadioImage` or `~astro_i2i.io.RadioCube`
        The image it belongs to (its grid and pointing). For a cube, the
        primary beam may be one plane for every channel or one plane per
        channel (CASA's cube ``.pb``).
    hdu : int or str, optional
        The HDU of a file.

    Returns
    -------
    primary_beam : `~numpy.ndarray`
        ``(ny, nx)``, or ``(nchan, ny, nx)`` for a cube's per-channel beam.

    Raises
    ------
    astro_i2i.exceptions.InputError
        If its shape differs from the image's, it has a brightness unit (an
        image, not a response), negative values (a PSF), a peak far from 1, or
        a peak far from the image's pointing.
    """
    nchan = image.nchan if hasattr(image, "nchan") else None
    grid = _PrimaryBeamGrid(tuple(image.shape[-2:]), image.celestial_wcs if nchan else image.wcs, image.name)
    if isinstance(primary_beam, np.ndarray):
        name = "primary_beam"
        planes = np.asarray(primary_beam, dtype=np.float64)
        planes = planes[np.newaxis] if planes.ndim == 2 else planes
    else:
        raw, header, name, _ = read_hdu(primary_beam, hdu=hdu)
        bunit = " ".join(str(header.get("BUNIT", "")).lower().split())
        if bunit in _SKY_UNITS or bunit in _BEAM_UNITS:
            raise InputError(name, f"has brightness unit '{header['BUNIT']}': an image, not a primary beam; pass the "
                                   ".pb file the imager wrote beside the dirty image")  # fmt: skip
        planes = _primary_beam_planes(np.asarray(raw), header, name)
    if planes.ndim != 3 or planes.shape[-2:] != grid.shape:
        found = f"{planes.shape[-1]} x {planes.shape[-2]}" if planes.ndim >= 2 else f"{planes.ndim}-D"
        raise InputError(name, f"primary beam is {found} pixels but {image.name} is {grid.shape[1]} x "
                               f"{grid.shape[0]}: pass the .pb imaged with it")  # fmt: skip
    if len(planes) != 1 and len(planes) != (nchan or 1):
        wanted = f"1 or {nchan} (one per channel)" if nchan else "1"
        raise InputError(name, f"primary beam has {len(planes)} planes; {image.name} needs {wanted}")
    for plane in planes:
        check_primary_beam_values(plane, name, grid)
    planes = np.nan_to_num(planes)
    return planes[0] if len(planes) == 1 else planes


@dataclass(frozen=True)
class _PrimaryBeamGrid:
    """What checking a primary beam needs of its image: the celestial grid, the pointing and the name."""

    shape: tuple
    wcs: object
    name: str


def _primary_beam_planes(data, header, name):
    """``(n, ny, nx)``: one celestial plane per channel of a spectral axis (one plane without one)."""
    try:
        wcs = quiet_wcs(header, name)
    except Exception as exc:  # astropy raises several types for broken WCS
        raise InputError(name, f"invalid WCS: {exc}") from None
    spectral = [axis for axis in range(min(wcs.naxis, data.ndim))
                if str(wcs.wcs.ctype[axis]).split("-")[0].upper() in _SPECTRAL_TYPES]  # fmt: skip
    numpy_axis = data.ndim - 1 - spectral[0] if spectral else None
    if numpy_axis is None or data.shape[numpy_axis] == 1:
        plane, _, _ = _celestial_plane(data, header, name)
        return np.asarray(plane, dtype=np.float64)[np.newaxis]
    # Each channel is a length-1 slice of the spectral axis, so the header still describes it.
    return np.stack([np.asarray(_celestial_plane(np.take(data, [k], axis=numpy_axis), header, name)[0],
                                dtype=np.float64) for k in range(data.shape[numpy_axis])])  # fmt: skip


def rescaled_wcs(wcs, factor, *, name="<wcs>"):
    """The celestial WCS of the same sky on pixels ``factor`` times smaller (``factor`` > 1: finer pixels).

    The pixel edges stay where they were: pixel ``(0, 0)``'s lower-left corner
    is the same point on the sky, so an image of ``ceil(n * factor)`` pixels
    covers the original's ``n``. It is how images reach a model's pixel scale.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        A 2-D celestial WCS.
    factor : float
        Old pixel size / new pixel size.
    name : str, optional
        The file, for messages.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
    """
    rescaled = quiet_wcs(wcs.to_header(), name)
    if rescaled.wcs.has_cd():
        rescaled.wcs.cd = rescaled.wcs.cd / factor
    else:
        rescaled.wcs.cdelt = rescaled.wcs.cdelt / factor
    rescaled.wcs.crpix = (np.asarray(wcs.wcs.crpix) - 0.5) * factor + 0.5
    return rescaled


#: File-name endings of a FITS file, longest first.
_FITS_ENDINGS = (".fits.gz", ".fits", ".fit", ".fts")


def find_primary_beam(path):
    """The primary beam an imager or the ALMA archive wrote beside an image, found by its name; None if none.

    tclean writes ``X.image`` with ``X.pb`` beside it (``X.image.fits`` and
    ``X.pb.fits`` once exported); ``impbcor`` and the archive add
    ``X.image.pbcor.fits`` or ``X.pbcor.fits``, with ``X.pb.fits.gz`` beside it.
    A name that follows neither pattern (``dirty_000.fits``) has no companion.

    Parameters
    ----------
    path : str or path-like
        The image's file or CASA image directory. Anything else (an array, an
        HDU) has no companion.

    Returns
    -------
    path : `pathlib.Path` or None
        The first existing one among ``X.pb`` + the image's own ending, then
        ``X.pb.fits``, ``X.pb.fits.gz`` and the CASA image directory ``X.pb``
        (a directory only where casa-formats-io is installed to read it).
    """
    return _find_beside(path, "pb")


def find_psf(path):
    """The PSF tclean wrote beside an image, found by its name; None if none.

    The same names as `find_primary_beam`: for ``X.image``, ``X.image.fits``,
    ``X.pbcor.fits`` or ``X.image.pbcor[.fits]``, the first existing one of
    ``X.psf`` + the image's own ending, ``X.psf.fits``, ``X.psf.fits.gz`` and
    the CASA image directory ``X.psf``.

    Parameters
    ----------
    path : str or path-like
        The image's file or CASA image directory.

    Returns
    -------
    path : `pathlib.Path` or None
    """
    return _find_beside(path, "psf")


def _find_beside(path, kind):
    """``X.<kind>`` beside the tclean- or archive-named image ``path`` (see `find_primary_beam`), or None."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    path = Path(path)
    stem, ending = path.name, ""
    for candidate in _FITS_ENDINGS:
        if stem.lower().endswith(candidate):
            stem, ending = stem[: -len(candidate)], stem[-len(candidate) :]
            break
    matched = False
    for tail in (".pbcor", ".image"):
        if stem.endswith(tail):
            stem, matched = stem[: -len(tail)], True
    if not matched or not stem:
        return None
    for candidate_ending in dict.fromkeys((ending, ".fits", ".fits.gz", "")):
        candidate = path.with_name(f"{stem}.{kind}{candidate_ending}")
        if candidate == path:
            continue
        if candidate.is_file():
            return candidate
        if is_casa_image(candidate):
            if _casa_reader_installed():
                return candidate
            logger.info("%s: %s beside it is a CASA image directory, not read without casa-formats-io (pip "
                        "install 'astro-i2i[casa]')", path, candidate.name)  # fmt: skip
    return None


def _casa_reader_installed():
    """Whether casa-formats-io can be imported (found without importing it: it pulls in dask)."""
    import importlib.util

    return importlib.util.find_spec("casa_formats_io") is not None


def check_primary_beam_values(plane, name, image):
    """Raise `InputError` unless ``plane`` looks like a primary-beam response for ``image``.

    A primary beam lies in [0, 1], peaks near 1 (tclean normalises it so) and peaks
    near the image's reference pixel (the pointing). A PSF has negative sidelobes;
    a dirty image or a sky model peaks far below 1, or somewhere else.
    """
    finite = plane[np.isfinite(plane)]
    if not finite.size:
        raise InputError(name, "primary beam has no finite pixel")
    if finite.min() < -1e-3:
        raise InputError(name, f"has negative values (down to {finite.min():.3g}): not a primary-beam response "
                               "(a PSF has negative sidelobes); pass the .pb file")  # fmt: skip
    peak = float(finite.max())
    if not 0.9 <= peak <= 1.05:
        raise InputError(name, f"peaks at {peak:.3g}, not near 1: not a primary-beam response (tclean's .pb peaks at "
                               "1); pass the .pb file")  # fmt: skip
    iy, ix = np.unravel_index(int(np.nanargmax(plane)), plane.shape)
    x0, y0 = np.asarray(image.wcs.wcs.crpix[:2], dtype=float) - 1
    # The Cycle 5.6 .pb has a flat top a few pixels off the reference pixel: compare the >= 0.99 region's centre.
    top_y, top_x = np.nonzero(np.nan_to_num(plane) >= 0.99 * peak)
    offset = float(np.hypot(top_x.mean() - x0, top_y.mean() - y0))
    if offset > 0.1 * max(plane.shape):
        raise InputError(name, f"peaks at pixel ({ix}, {iy}), {offset:.0f} pixels from {image.name}'s pointing "
                               f"(reference pixel {x0:.0f}, {y0:.0f}): not its primary beam")  # fmt: skip


def image_summary(image):
    """Lines describing what was understood of ``image`` (for ``astro-i2i info``).

    Parameters
    ----------
    image : `RadioImage`
        The image read.

    Returns
    -------
    lines : list of str
        Its grid, axes, beam, unit, frequency and the like, one per line.
    """
    centre, reference = image.centre, image.reference_position
    ny, nx = image.shape
    crpix = np.asarray(image.wcs.wcs.crpix) - 1
    axes = ", ".join(image.original_axes)
    if image.beam is None:
        beam = "none (no BMAJ/BMIN/BPA, no beam in HISTORY; give a PSF or a beam)"
    else:
        beam = (
            f"{_arcsec(image.beam.major)} x {_arcsec(image.beam.minor)}, "
            f"PA {image.beam.pa.to_value(u.deg):.1f} deg (from {image.beam_source}; "
            f"{image.beam_area_pixels:.1f} pixels)"
        )
    frame = centre.frame.name.upper()
    frequency = "unknown" if image.frequency is None else f"{image.frequency.to_value(u.GHz):.4f} GHz"
    finite = image.data[np.isfinite(image.data)]
    mad = 1.4826 * np.median(np.abs(finite - np.median(finite)))
    unit_note = "" if image.original_unit in ("", "Jy/beam") else f" (converted from {image.original_unit})"
    hdu = "" if image.hdu_index is None else f" [HDU {image.hdu_index}]"
    return [
        f"file:        {image.name}{hdu}",
        f"shape:       {nx} x {ny} pixels (axes: {axes})",
        f"centre:      {centre.to_string('hmsdms', precision=2)} ({frame}; "
        f"{centre.spherical.lon.deg:.6f}, {centre.spherical.lat.deg:.6f} deg)",
        f"reference:   {reference.to_string('hmsdms', precision=2)} ({frame}; "
        f"{reference.spherical.lon.deg:.6f}, {reference.spherical.lat.deg:.6f} deg) "
        f"at 0-based pixel ({crpix[0]:g}, {crpix[1]:g})",
        f"pixel scale: {image.pixel_scale.to_value(u.arcsec):.4g} arcsec",
        f"beam:        {beam}",
        f"unit:        Jy/beam{unit_note}",
        f"frequency:   {frequency}",
        f"blanked:     {100 * image.blank_fraction:.1f} % of pixels",
        f"noise (MAD): {mad * 1e6:.3g} uJy/beam",
    ]


def unitless_image_kind(image):
    """What a unitless image peaking at 1 at the reference pixel is instead of a dirty image: ``'pb'`` (tclean's
    ``.pb``), ``'psf'`` (its ``.psf``), or None (an image with a unit, or not such a peak).

    The peak is 1 and lies within 2 pixels of the reference pixel, or the reference pixel holds 1 (a primary
    beam's top is flat: CASA's Cycle 5.6 ``.pb`` at 0.04" peaks 2.2 pixels away). A primary beam has no negative
    pixel and is above half its peak over a wide disc (over 10 % of its finite pixels; CASA's ``.pb`` files
    here: 47-98 %); a PSF has negative sidelobes and a narrow main lobe.
    """
    if image.original_unit:
        return None
    data = np.nan_to_num(image.data, nan=-np.inf)
    if not np.isfinite(data).any():
        return None
    iy, ix = np.unravel_index(int(np.argmax(data)), data.shape)
    x0, y0 = np.asarray(image.wcs.wcs.crpix[:2], dtype=float) - 1
    ry, rx = int(round(y0)), int(round(x0))
    at_reference = 0 <= ry < data.shape[0] and 0 <= rx < data.shape[1] and abs(data[ry, rx] - 1) < 0.02
    if not (abs(data[iy, ix] - 1) < 0.02 and (np.hypot(ix - x0, iy - y0) <= 2 or at_reference)):
        return None
    finite = image.data[np.isfinite(image.data)]
    if finite.min() >= 0 and np.mean(finite >= 0.5) > 0.1:
        return "pb"
    return "psf"
