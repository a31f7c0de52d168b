"""The reader against images written by CASA itself (shared/reference/casa)."""

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from astro_i2i.io import read_image

from .conftest import REFERENCE

pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason="no CASA reference images (set ASTRO_I2I_CASA_REFERENCE or put them in ../shared/reference/casa)")


@pytest.mark.parametrize("index", ["000", "004", "011"])
def test_reader_matches_casa_header(index):
    image = read_image(REFERENCE / f"dirty_{index}.fits")
    with fits.open(REFERENCE / f"dirty_{index}.fits") as hdulist:
        header = hdulist[0].header
        raw = hdulist[0].data[0, 0]
    row = Table.read(REFERENCE / "images.ecsv")[int(index)]
    assert image.data.shape == (512, 512)
    np.testing.assert_array_equal(image.data, raw)
    assert image.pixel_scale.to_value(u.arcsec) == pytest.approx(0.1)
    assert image.frequency.to_value(u.GHz) == pytest.approx(230.0)
    assert image.beam_source == "header"
    assert image.beam.major.to_value(u.deg) == pytest.approx(header["BMAJ"])
    ref = image.reference_position
    assert ref.ra.deg == pytest.approx(row["ra_deg"], abs=1e-7)
    assert ref.dec.deg == pytest.approx(row["dec_deg"], abs=1e-7)
    assert image.blank_fraction == pytest.approx(0.57, abs=0.01)


@pytest.mark.parametrize("index", ["000", "003", "007", "010"])
def test_psf_fit_matches_tclean(index, tmp_path):
    dirty = REFERENCE / f"dirty_{index}.fits"
    with fits.open(dirty) as hdulist:
        header = hdulist[0].header.copy()
        data = hdulist[0].data.copy()
    tclean = {key: header[key] for key in ("BMAJ", "BMIN", "BPA")}
    for key in tclean:
        del header[key]
    stripped = tmp_path / "stripped.fits"
    fits.PrimaryHDU(data, header=header).writeto(stripped)
    assert read_image(stripped).beam is None
    image = read_image(stripped, psf=REFERENCE / f"psf_{index}.fits")
    assert image.beam_source == "psf"
    assert image.beam.major.to_value(u.deg) == pytest.approx(tclean["BMAJ"], rel=0.05)
    assert image.beam.minor.to_value(u.deg) == pytest.approx(tclean["BMIN"], rel=0.05)
    assert abs((image.beam.pa.to_value(u.deg) - tclean["BPA"] + 90) % 180 - 90) < 5
