"""Small synthetic FITS images for the tests."""

import os
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

#: The CASA-made reference images: $ASTRO_I2I_CASA_REFERENCE, else ../shared/reference/casa (by the repository).
REFERENCE = Path(os.environ.get("ASTRO_I2I_CASA_REFERENCE")
                 or Path(__file__).resolve().parents[2] / "shared" / "reference" / "casa")  # fmt: skip

RA, DEC = 150.1191667, 2.2058333
PIXEL_DEG = 0.1 / 3600


def celestial_header(n=64, *, axes="2d", bunit="Jy/beam", beam=True, nchan=1):
    """A header like tclean/exportfits (or WSClean) write.

    axes: '2d', 'casa' (RA, DEC, FREQ, STOKES), 'swapped' (RA, DEC, STOKES, FREQ),
    'cube' (RA, DEC, FREQ with nchan channels).
    """
    header = fits.Header()
    specs = [("RA---SIN", RA, -PIXEL_DEG, n / 2 + 1, "deg"), ("DEC--SIN", DEC, PIXEL_DEG, n / 2 + 1, "deg")]
    freq = ("FREQ", 230e9, 1.875e9, 1.0, "Hz")
    stokes = ("STOKES", 1.0, 1.0, 1.0, "")
    if axes == "casa":
        specs += [freq, stokes]
    elif axes == "swapped":
        specs += [stokes, freq]
    elif axes == "cube":
        specs += [freq]
    for i, (ctype, crval, cdelt, crpix, cunit) in enumerate(specs, start=1):
        header[f"CTYPE{i}"] = ctype
        header[f"CRVAL{i}"] = crval
        header[f"CDELT{i}"] = cdelt
        header[f"CRPIX{i}"] = crpix
        header[f"CUNIT{i}"] = cunit
    header["RADESYS"] = "FK5"
    header["EQUINOX"] = 2000.0
    if bunit is not None:
        header["BUNIT"] = bunit
    if beam:
        header["BMAJ"] = 0.89 / 3600
        header["BMIN"] = 0.82 / 3600
        header["BPA"] = 82.0
    shape = {"2d": (n, n), "casa": (1, 1, n, n), "swapped": (1, 1, n, n), "cube": (nchan, n, n)}[axes]
    return header, shape


def make_data(shape, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 5e-5, size=shape).astype(np.float32)
    ny, nx = shape[-2:]
    yy, xx = np.mgrid[:ny, :nx]
    data[..., (yy - ny / 2) ** 2 + (xx - nx / 2) ** 2 > (0.45 * nx) ** 2] = np.nan
    return data


@pytest.fixture
def write_image(tmp_path):
    """Factory writing a synthetic image to ``tmp_path`` and returning its path."""

    def factory(name="dirty.fits", *, axes="2d", bunit="Jy/beam", beam=True, n=64, nchan=1, data=None, header_extra=None):
        header, shape = celestial_header(n, axes=axes, bunit=bunit, beam=beam, nchan=nchan)
        if header_extra:
            header.update(header_extra)
        if data is None:
            data = make_data(shape)
        path = tmp_path / name
        fits.PrimaryHDU(data, header=header).writeto(path)
        return path

    return factory


@pytest.fixture
def dirty_path(write_image):
    return write_image()


NCHAN = 4
MAJORS = np.array([0.89, 0.90, 0.91, 0.92])


def beams_hdu(n, majors=MAJORS):
    table = Table({"BMAJ": np.resize(majors, n).astype(np.float32), "BMIN": np.full(n, 0.82, np.float32),
                   "BPA": np.full(n, 80.0, np.float32), "CHAN": np.arange(n, dtype=np.int32),
                   "POL": np.zeros(n, dtype=np.int32)})  # fmt: skip
    table["BMAJ"].unit, table["BMIN"].unit, table["BPA"].unit = u.arcsec, u.arcsec, u.deg
    hdu = fits.table_to_hdu(table)
    hdu.header["EXTNAME"] = "BEAMS"
    return hdu


def write_cube(path, *, nchan=NCHAN, beams_rows=NCHAN, stokes=1, zero_channel=None, n=64, peak=4e-4):
    """A CASA-like cube (RA, DEC, FREQ, STOKES) with a BEAMS table; a bright source brighter with channel."""
    header, _ = celestial_header(n, axes="casa", beam=False)
    header["CASAMBM"] = True
    data = np.stack([make_data((n, n), seed=k) for k in range(nchan)])
    rng = np.random.default_rng(9)
    yy, xx = np.mgrid[:n, :n]
    for k in range(nchan):  # one bright point-like source, brighter with channel
        data[k] += (peak + 1e-4 * k) * np.exp(-((xx - 30) ** 2 + (yy - 36) ** 2) / (2 * 3.6**2))
    data += rng.normal(0, 1e-6, data.shape).astype(np.float32)
    if zero_channel is not None:
        data[zero_channel] = 0.0
    data = np.repeat(data[np.newaxis], stokes, axis=0)
    hdus = [fits.PrimaryHDU(data.astype(np.float32), header=header)]
    if beams_rows:
        hdus.append(beams_hdu(beams_rows))
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.fixture(autouse=True)
def _no_cli_log_handler():
    """The CLI's stderr handler would outlive each test's captured stderr (a "Logging error" in a later test)."""
    yield
    import logging

    logger = logging.getLogger("astro_i2i")
    for handler in [h for h in logger.handlers if getattr(h, "_astro_i2i", False)]:
        logger.removeHandler(handler)
    logger.propagate = True
