import gzip
import logging

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.modeling.models import Gaussian2D
from astropy.wcs import WCS

from astro_i2i import InputError
from astro_i2i.io import RadioImage, fit_psf_beam, parse_beam_string, read_image

from .conftest import DEC, RA, celestial_header, make_data


def assert_plane(image, n=64):
    assert isinstance(image, RadioImage)
    assert image.data.shape == (n, n)
    assert image.data.dtype == np.float32
    assert image.data.dtype.isnative
    assert image.wcs.naxis == 2
    assert image.pixel_scale.to_value(u.arcsec) == pytest.approx(0.1)
    ref = image.reference_position
    assert ref.ra.deg == pytest.approx(RA) and ref.dec.deg == pytest.approx(DEC)


class TestInputForms:
    def test_path_and_str(self, dirty_path):
        for given in (dirty_path, str(dirty_path)):
            image = read_image(given)
            assert_plane(image)
            assert image.name == str(dirty_path)
            assert image.hdu_index == 0

    def test_gzip(self, dirty_path, tmp_path):
        gz = tmp_path / "dirty.fits.gz"
        gz.write_bytes(gzip.compress(dirty_path.read_bytes()))
        image = read_image(gz)
        assert_plane(image)
        np.testing.assert_array_equal(image.data, read_image(dirty_path).data)

    def test_hdulist_hdu_and_tuple(self, dirty_path):
        reference = read_image(dirty_path)
        with fits.open(dirty_path) as hdulist:
            from_list = read_image(hdulist)
            from_hdu = read_image(hdulist[0])
            from_tuple = read_image((hdulist[0].data, hdulist[0].header))
            from_wcs = read_image((hdulist[0].data, WCS(hdulist[0].header)))
        for image in (from_list, from_hdu, from_tuple):
            assert_plane(image)
            np.testing.assert_array_equal(image.data, reference.data)
            assert image.beam == reference.beam
        # A bare WCS carries no beam and no unit.
        assert from_wcs.beam is None

    def test_a_radio_image_is_read_already(self, dirty_path):
        image = read_image(dirty_path)
        assert read_image(image) is image
        assert read_image(image, name="mine").name == "mine" and image.name == str(dirty_path)
        with pytest.raises(TypeError):  # with options it is parsed as an input again: a RadioImage is not one
            read_image(image, hdu=0)

    def test_unsupported_type(self):
        with pytest.raises(TypeError, match="'list'"):
            read_image([1, 2, 3])

    def test_casa_4d_order(self, write_image):
        image = read_image(write_image(axes="casa"))
        assert_plane(image)
        assert image.frequency.to_value(u.GHz) == pytest.approx(230.0)
        assert image.original_axes == ("RA---SIN", "DEC--SIN", "FREQ", "STOKES")

    def test_swapped_4d_order(self, write_image):
        image = read_image(write_image(axes="swapped"))
        assert_plane(image)
        assert image.frequency.to_value(u.GHz) == pytest.approx(230.0)

    def test_dec_before_ra(self, tmp_path):
        # Transposed axes: DEC is FITS axis 1; the result must still be (dec, ra) in numpy order.
        header, _ = celestial_header(64)
        data = make_data((64, 64))
        data[10, 40] = 1.0  # numpy (y=dec index 10, x=ra index 40)
        swapped = fits.Header()
        for key, value in header.items():
            if key[-1:] == "1" and key[:-1] in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT"):
                swapped[key[:-1] + "2"] = value
            elif key[-1:] == "2" and key[:-1] in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT"):
                swapped[key[:-1] + "1"] = value
            else:
                swapped[key] = value
        path = tmp_path / "t.fits"
        fits.PrimaryHDU(data.T.copy(), header=swapped).writeto(path)
        image = read_image(path)
        assert image.data[10, 40] == 1.0
        expected = WCS(header).pixel_to_world(40, 10)
        got = image.wcs.pixel_to_world(40, 10)
        assert expected.separation(got).arcsec < 1e-6

    def test_primary_without_data_then_extension(self, tmp_path):
        header, shape = celestial_header(32)
        path = tmp_path / "ext.fits"
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(make_data(shape), header=header, name="IMAGE")]).writeto(path)
        image = read_image(path)
        assert image.hdu_index == 1
        assert image.data.shape == (32, 32)

    def test_several_image_hdus_and_hdu_choice(self, tmp_path):
        header, shape = celestial_header(32)
        path = tmp_path / "two.fits"
        fits.HDUList(
            [fits.PrimaryHDU(make_data(shape), header=header), fits.ImageHDU(make_data(shape, 1), header=header, name="B")]
        ).writeto(path)
        with pytest.raises(InputError, match=r"several image HDUs \(0, 1\).*--hdu"):
            read_image(path)
        assert read_image(path, hdu=1).hdu_index == 1
        assert read_image(path, hdu="B").hdu_index == 1
        with pytest.raises(InputError, match="no HDU 5"):
            read_image(path, hdu=5)

    def test_big_endian(self, tmp_path):
        header, shape = celestial_header(32)
        data = make_data(shape).astype(">f8")
        path = tmp_path / "be.fits"
        fits.PrimaryHDU(data, header=header).writeto(path)
        image = read_image(path)
        assert image.data.dtype == np.dtype("float32") and image.data.dtype.isnative
        np.testing.assert_allclose(image.data, data.astype(np.float32), equal_nan=True)

    def test_blank_integer_with_bscale(self, tmp_path):
        header, shape = celestial_header(16)
        raw = np.arange(16 * 16, dtype=np.int16).reshape(shape)
        raw[0, 0] = -32768
        header["BSCALE"] = 1e-6
        header["BZERO"] = 0.0
        header["BLANK"] = -32768
        path = tmp_path / "int.fits"
        fits.PrimaryHDU(raw, header=header).writeto(path)
        with fits.open(path, mode="update", do_not_scale_image_data=True) as hdulist:
            hdulist[0].header["BSCALE"] = 1e-6
            hdulist[0].header["BZERO"] = 0.0
        with fits.open(path, do_not_scale_image_data=True) as check:
            assert check[0].data.dtype.kind == "i" and check[0].header["BSCALE"] == 1e-6
        image = read_image(path)
        assert np.isnan(image.data[0, 0])
        assert image.data[0, 5] == pytest.approx(5e-6, rel=1e-5)
        assert np.isnan(image.data).sum() == 1

    def test_inf_becomes_blank(self, write_image, caplog):
        data = make_data((64, 64))
        data[32, 32] = np.inf
        data[32, 33] = -np.inf
        with caplog.at_level(logging.WARNING, logger="astro_i2i"):
            image = read_image(write_image(data=data))
        assert np.isnan(image.data[32, 32]) and np.isnan(image.data[32, 33])
        assert "2 infinite" in caplog.text


class TestUnits:
    def test_mjy_per_beam_converted(self, write_image):
        data = make_data((64, 64)) * 1e3
        image = read_image(write_image(bunit="mJy/beam", data=data))
        assert image.unit == u.Jy / u.beam
        np.testing.assert_allclose(image.data, data * 1e-3, rtol=1e-6, equal_nan=True)

    def test_uppercase_jy_beam(self, write_image):
        assert read_image(write_image(bunit="JY/BEAM")).unit == u.Jy / u.beam

    @pytest.mark.parametrize("bunit", ["Jy/pixel", "JY/PIXEL", "Jy/pix"])
    def test_jy_per_pixel_rejected(self, write_image, bunit):
        with pytest.raises(InputError, match="sky model, not a dirty image"):
            read_image(write_image(bunit=bunit))

    def test_missing_bunit_warns(self, write_image, caplog):
        with caplog.at_level(logging.WARNING, logger="astro_i2i"):
            image = read_image(write_image(bunit=None))
        assert "no BUNIT" in caplog.text
        assert image.unit == u.Jy / u.beam

    def test_unknown_unit(self, write_image):
        with pytest.raises(InputError, match="BUNIT='K'"):
            read_image(write_image(bunit="K"))


class TestBadInput:
    def test_nonexistent(self, tmp_path):
        with pytest.raises(InputError, match="nope.fits: file not found"):
            read_image(tmp_path / "nope.fits")

    def test_not_fits(self, tmp_path):
        path = tmp_path / "notes.fits"
        path.write_text("hello, this is not FITS\n" * 100)
        with pytest.raises(InputError, match="not a FITS file"):
            read_image(path)

    def test_truncated(self, dirty_path, tmp_path):
        path = tmp_path / "cut.fits"
        path.write_bytes(dirty_path.read_bytes()[: 2880 + 4000])
        with pytest.raises(InputError, match="truncated"):
            read_image(path)

    def test_directory(self, tmp_path):
        with pytest.raises(InputError, match="is a directory"):
            read_image(tmp_path)

    def test_no_image_hdu(self, tmp_path):
        path = tmp_path / "table.fits"
        table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=np.arange(3.0))])
        fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
        with pytest.raises(InputError, match="no image HDU"):
            read_image(path)

    def test_one_dimensional(self, tmp_path):
        path = tmp_path / "1d.fits"
        header = fits.Header({"CTYPE1": "RA---SIN", "BUNIT": "Jy/beam"})
        fits.PrimaryHDU(np.ones(10, np.float32), header=header).writeto(path)
        with pytest.raises(InputError, match="1-D"):
            read_image(path)

    def test_spectral_cube(self, write_image):
        with pytest.raises(InputError, match="spectral axis \\(FREQ\\) with 5 channels"):
            read_image(write_image(axes="cube", nchan=5))

    def test_full_stokes_reads_stokes_i(self, tmp_path):
        # CASA order (RA, DEC, FREQ, STOKES); the planes are told apart by their values.
        header, _ = celestial_header(32, axes="casa")
        planes = np.stack([np.full((1, 32, 32), value, np.float32) for value in (1e-4, 2e-4, 3e-4, 4e-4)])
        for crval, cdelt, expected in ((1.0, 1.0, 1e-4), (4.0, -1.0, 4e-4)):  # IQUV, and VUQI: I is the last plane
            header["CRVAL4"], header["CDELT4"] = crval, cdelt
            path = tmp_path / f"stokes_{crval:g}.fits"
            fits.PrimaryHDU(planes, header=header).writeto(path)
            assert np.all(read_image(path).data == np.float32(expected))
        header["CRVAL4"], header["CDELT4"] = -5.0, -1.0  # XX, YY, XY, YX: no Stokes I
        fits.PrimaryHDU(planes, header=header).writeto(tmp_path / "xx.fits")
        with pytest.raises(InputError, match="STOKES axis with 4 planes and no Stokes I"):
            read_image(tmp_path / "xx.fits")

    def test_no_wcs(self, tmp_path):
        path = tmp_path / "nowcs.fits"
        fits.PrimaryHDU(make_data((16, 16)), header=fits.Header({"BUNIT": "Jy/beam"})).writeto(path)
        with pytest.raises(InputError, match="no celestial WCS"):
            read_image(path)

    def test_non_celestial_wcs(self, tmp_path):
        header = fits.Header({"CTYPE1": "LINEAR", "CTYPE2": "LINEAR", "BUNIT": "Jy/beam"})
        path = tmp_path / "linear.fits"
        fits.PrimaryHDU(make_data((16, 16)), header=header).writeto(path)
        with pytest.raises(InputError, match="no celestial WCS.*LINEAR"):
            read_image(path)

    def test_all_nan(self, write_image):
        with pytest.raises(InputError, match="all pixels are blank"):
            read_image(write_image(data=np.full((64, 64), np.nan, np.float32)))

    def test_non_square_pixels(self, write_image):
        with pytest.raises(InputError, match="not square"):
            read_image(write_image(header_extra={"CDELT2": 0.2 / 3600}))

    def test_string_data(self):
        header, _ = celestial_header(4)
        with pytest.raises(InputError, match="not numbers"):
            read_image((np.array([["a"] * 4] * 4), header))


class TestBeam:
    def test_header_beam(self, dirty_path):
        image = read_image(dirty_path)
        assert image.beam_source == "header"
        assert image.beam.major.to_value(u.arcsec) == pytest.approx(0.89)
        assert image.beam.minor.to_value(u.arcsec) == pytest.approx(0.82)
        assert image.beam.pa.to_value(u.deg) == pytest.approx(82.0)
        assert image.beam_area_pixels == pytest.approx(np.pi * 0.89 * 0.82 / (4 * np.log(2)) / 0.01)

    def test_aips_history(self, tmp_path):
        header, shape = celestial_header(32, beam=False)
        header["HISTORY"] = "AIPS   CLEAN BMAJ=  2.4722E-04 BMIN=  2.2778E-04 BPA=  82.00"
        path = tmp_path / "aips.fits"
        fits.PrimaryHDU(make_data(shape), header=header).writeto(path)
        image = read_image(path)
        assert image.beam_source == "history"
        assert image.beam.major.to_value(u.arcsec) == pytest.approx(0.88999, rel=1e-4)
        assert image.beam.pa.to_value(u.deg) == pytest.approx(82.0)

    def test_casa_history_split_over_cards(self, tmp_path):
        header, shape = celestial_header(32, beam=False)
        header["HISTORY"] = "imager::clean() [] Fitted beam used in"
        header["HISTORY"] = "> restoration: 1.34841 by 0.830715 (arcsec) at pa 82.8827 (deg)"
        image = read_image((make_data(shape), header))
        assert image.beam_source == "history"
        assert image.beam.major.to_value(u.arcsec) == pytest.approx(1.34841)
        assert image.beam.minor.to_value(u.arcsec) == pytest.approx(0.830715)

    def test_no_beam_is_normal(self, write_image):
        image = read_image(write_image(beam=False))
        assert image.beam is None and image.beam_source == "none"
        assert image.beam_area_pixels is None

    def test_beam_argument_overrides(self, dirty_path, caplog):
        with caplog.at_level(logging.WARNING, logger="astro_i2i"):
            image = read_image(dirty_path, beam="1.5,1.0,10")
        assert image.beam_source == "argument"
        assert image.beam.major.to_value(u.arcsec) == pytest.approx(1.5)
        assert "differs from the header" in caplog.text

    @pytest.mark.parametrize("text", ["a,b,c", "1", "-1,1,0", "1,2,3,4", "0.9,0.8", "0.9Jy,0.8,30"])
    def test_bad_beam_string(self, dirty_path, text):
        with pytest.raises(InputError, match="^beam: "):
            read_image(dirty_path, beam=text)

    def test_parse_beam_string_takes_units(self):
        beam = parse_beam_string('0.9arcsec, 0.8", 0.5rad')
        assert beam.major.to_value(u.arcsec) == pytest.approx(0.9) and beam.minor.to_value(u.arcsec) == pytest.approx(0.8)
        assert beam.pa.to_value(u.rad) == pytest.approx(0.5)
        assert parse_beam_string("0.00025deg,0.8,30").major.to_value(u.arcsec) == pytest.approx(0.9)

    def test_parse_beam_string_orders_axes(self):
        beam = parse_beam_string("0.5, 0.9, 0")
        assert beam.major.to_value(u.arcsec) == pytest.approx(0.9)
        assert beam.pa.to_value(u.deg) == pytest.approx(90.0)

    @pytest.mark.parametrize("pa", [0.0, 30.0, 82.0, 135.0])
    def test_psf_fit_recovers_gaussian(self, pa):
        header, _ = celestial_header(96)
        wcs = WCS(header)
        fwhm = 2 * np.sqrt(2 * np.log(2))
        major, minor = 9.0 / fwhm, 6.0 / fwhm  # pixels: 0.9" x 0.6"
        # With RA increasing to the left, a PA east of north points to (-sin, cos) in pixels.
        model = Gaussian2D(1.0, 48, 48, major, minor, theta=np.radians(90 + pa))
        yy, xx = np.mgrid[:96, :96]
        beam = fit_psf_beam(model(xx, yy), wcs)
        assert beam.major.to_value(u.arcsec) == pytest.approx(0.9, rel=1e-3)
        assert beam.minor.to_value(u.arcsec) == pytest.approx(0.6, rel=1e-3)
        assert (beam.pa.to_value(u.deg) - pa + 90) % 180 - 90 == pytest.approx(0, abs=0.1)

    def test_psf_file(self, tmp_path, write_image):
        header, _ = celestial_header(96, beam=False, bunit=None)
        fwhm = 2 * np.sqrt(2 * np.log(2))
        model = Gaussian2D(1.0, 48, 48, 8.0 / fwhm, 7.0 / fwhm, theta=np.radians(90 + 20))
        yy, xx = np.mgrid[:96, :96]
        psf_path = tmp_path / "psf.fits"
        fits.PrimaryHDU(model(xx, yy).astype(np.float32), header=header).writeto(psf_path)
        image = read_image(write_image(beam=False), psf=psf_path)
        assert image.beam_source == "psf"
        assert image.beam.major.to_value(u.arcsec) == pytest.approx(0.8, rel=1e-3)

    def test_psf_of_another_grid_or_pointing(self, tmp_path, write_image, caplog):
        header, _ = celestial_header(96, beam=False, bunit=None)
        fwhm = 2 * np.sqrt(2 * np.log(2))
        yy, xx = np.mgrid[:96, :96]
        psf = Gaussian2D(1.0, 48, 48, 8.0 / fwhm, 7.0 / fwhm)(xx, yy).astype(np.float32)
        coarse = header.copy()
        coarse["CDELT1"], coarse["CDELT2"] = 2 * header["CDELT1"], 2 * header["CDELT2"]
        fits.PrimaryHDU(psf, header=coarse).writeto(tmp_path / "coarse.fits")
        with pytest.raises(InputError, match="coarse.fits: PSF pixels are 0.2.*not the PSF of this image"):
            read_image(write_image(beam=False), psf=tmp_path / "coarse.fits")
        moved = header.copy()
        moved["CRVAL2"] = header["CRVAL2"] + 10 / 3600
        fits.PrimaryHDU(psf, header=moved).writeto(tmp_path / "moved.fits")
        with caplog.at_level("WARNING", logger="astro_i2i"):
            image = read_image(write_image("other.fits", beam=False), psf=tmp_path / "moved.fits")
        assert image.beam_source == "psf" and "another pointing" in caplog.text

    def test_psf_without_peak(self, tmp_path, write_image):
        header, _ = celestial_header(32, beam=False, bunit=None)
        psf_path = tmp_path / "psf.fits"
        fits.PrimaryHDU(-np.ones((32, 32), np.float32), header=header).writeto(psf_path)
        with pytest.raises(InputError, match="psf.fits: cannot fit the PSF"):
            read_image(write_image(beam=False), psf=psf_path)
