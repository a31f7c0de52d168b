import shutil
import subprocess

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import QTable

from astro_i2i import InputError
from astro_i2i.io import (CubeProductWriter, header_text, read_cube, read_image, read_products, style_wcs,
                          write_products)

from .conftest import write_cube


def _catalog():
    table = QTable()
    table["id"] = np.array([1, 2])
    table["ra"] = [150.11, 150.12] * u.deg
    table["dec"] = [2.20, 2.21] * u.deg
    table["flux"] = [1.5e-4, 3.0e-4] * u.Jy
    table["fwhm_maj"] = [0.5, 0.7] * u.arcsec
    return table


@pytest.fixture
def image(dirty_path):
    return read_image(dirty_path)


def _write(image, path, **kwargs):
    sky = np.nan_to_num(image.data) * 0.01
    kwargs.setdefault("uncertainty", np.full(image.shape, 1e-6, np.float32))
    kwargs.setdefault("style", np.ones((2, 16, 16), np.float32))
    kwargs.setdefault("catalog", _catalog())
    provenance = {"model": "two_to_one", "model_checksum": "abc123", "samples": 10, "seed": 7,
                  "command": "astro-i2i reconstruct dirty.fits", **kwargs.pop("provenance", {})}  # fmt: skip
    return write_products(path, sky, image=image, provenance=provenance, **kwargs), sky


def test_round_trip(image, tmp_path):
    path, sky = _write(image, tmp_path / "out.fits")
    products = read_products(path)
    blank = np.isnan(image.data)
    np.testing.assert_array_equal(np.isnan(products.sky), blank)
    np.testing.assert_allclose(products.sky[~blank], sky[~blank])
    assert products.header["BUNIT"] == "Jy/pixel"
    assert products.header["EXTNAME"] == "SKY"
    assert products.header["BMAJ"] == pytest.approx(0.89 / 3600)
    for x, y in [(0, 0), (10, 50), (63, 63)]:
        assert products.wcs.pixel_to_world(x, y).separation(image.wcs.pixel_to_world(x, y)).arcsec < 1e-9
    assert products.uncertainty.shape == image.shape
    assert products.style.shape == (2, 16, 16)
    assert products.provenance["model"] == "two_to_one"
    assert products.provenance["samples"] == 10
    assert products.provenance["input"] == image.name
    assert products.provenance["version"]
    assert "astro-i2i reconstruct dirty.fits" in str(products.header["HISTORY"])
    cat = products.catalog
    assert list(cat.colnames) == ["id", "ra", "dec", "flux", "fwhm_maj"]
    assert cat["flux"].unit == u.Jy and cat["ra"].unit == u.deg
    np.testing.assert_allclose(cat["flux"].value, [1.5e-4, 3.0e-4])


def test_style_wcs_covers_same_sky(image):
    swcs = style_wcs(image.wcs, image.shape, (2, 16, 16))
    assert swcs.naxis == 3
    # A style pixel's centre lies at the centre of the 4x4 block of image pixels it covers.
    for i, j in [(0, 0), (5, 9), (15, 15)]:
        expected = image.wcs.pixel_to_world(4 * i + 1.5, 4 * j + 1.5)
        got = swcs.celestial.pixel_to_world(i, j)
        assert expected.separation(got).arcsec < 1e-6


def test_direct_mode_has_no_uncertainty(image, tmp_path):
    path, _ = _write(image, tmp_path / "direct.fits", uncertainty=None, style=None, catalog=None)
    products = read_products(path)
    assert products.uncertainty is None and products.style is None and products.catalog is None
    assert products.header["I2IUNC"] is False


def test_empty_catalog(image, tmp_path):
    path, _ = _write(image, tmp_path / "empty.fits", catalog=_catalog()[:0])
    assert len(read_products(path).catalog) == 0


def test_existing_file_kept(image, tmp_path):
    path = tmp_path / "out.fits"
    path.write_bytes(b"precious")
    with pytest.raises(InputError, match="output file exists"):
        _write(image, path)
    assert path.read_bytes() == b"precious"
    _write(image, path, overwrite=True)
    assert read_products(path).sky.shape == image.shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dirty.fits", "out.fits"]


def test_missing_directory(image, tmp_path):
    with pytest.raises(InputError, match="output directory .* does not exist"):
        _write(image, tmp_path / "nowhere" / "out.fits")


def test_failure_leaves_no_partial_file(image, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", broken)
    with pytest.raises(RuntimeError):
        _write(image, tmp_path / "out.fits")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dirty.fits"]


def test_shape_mismatch(image, tmp_path):
    with pytest.raises(ValueError, match="sky has shape"):
        write_products(tmp_path / "x.fits", np.zeros((3, 3)), image=image)


def _cube_product(path, cube_path, provenance=None):
    """A cube product as reconstruct_cube writes it (planes, BEAMS, CATALOG with a long selection rule)."""
    cube = read_cube(cube_path)
    nchan, ny, nx = cube.shape
    catalog = _catalog()
    catalog["channel"] = [0, 2]
    catalog.meta["thresh"] = "reliability >= 0.3 among sky-model peaks above 0.05 x dirty noise per beam area"
    sources = QTable({"id": [1], "flux_peak": [3e-4] * u.Jy, "n_channels": [2]})
    provenance = {"model": "two_to_one", "samples": 2, "seed": 0, "input": cube.name, **(provenance or {})}
    with CubeProductWriter(path, cube, provenance=provenance) as writer:
        writer.write(0, np.zeros((nchan, ny, nx), np.float32), np.ones((nchan, ny, nx), np.float32),
                     np.ones((nchan, 2, 16, 16), np.float32))  # fmt: skip
        return writer.finish(catalog, sources)


@pytest.mark.skipif(shutil.which("fitsverify") is None, reason="fitsverify (Debian package) not installed")
def test_fitsverify_clean(image, tmp_path):
    path, _ = _write(image, tmp_path / "out.fits")
    # A cube product too: its CATALOG's long selection rule needs LONGSTRN, and its BEAMS table CASAMBM.
    cube = _cube_product(tmp_path / "cube_i2i.fits", write_cube(tmp_path / "cube.fits"))
    assert fits.getheader(tmp_path / "cube.fits")["CASAMBM"] is True
    assert fits.getheader(cube)["CASAMBM"] is True
    assert fits.getheader(cube, "CATALOG")["LONGSTRN"] == "OGIP 1.0"
    for product in (path, cube):
        result = subprocess.run(["fitsverify", str(product)], capture_output=True, text=True)
        assert "Verification found 0 warning(s) and 0 error(s)" in result.stdout, result.stdout


def test_non_ascii_paths_are_recorded_percent_encoded(tmp_path, write_image):
    """FITS headers take printable ASCII: a non-ASCII input, output or directory is escaped, not a crash."""
    folder = tmp_path / "données"
    folder.mkdir()
    dirty = folder / "dirty_éèü_天体.fits"
    dirty.write_bytes(write_image().read_bytes())
    image = read_image(dirty)
    command = "astro-i2i reconstruct données/dirty_éèü_天体.fits -o résultat_100%.fits"
    path, _ = _write(image, folder / "résultat_100%.fits", provenance={"command": command})
    header = fits.getheader(path, "CATALOG")
    assert header["I2IINPUT"].endswith("/donn%C3%A9es/dirty_%C3%A9%C3%A8%C3%BC_%E5%A4%A9%E4%BD%93.fits")
    assert "r%C3%A9sultat_100%25.fits" in "".join(header["HISTORY"]) and header["I2IPCENC"] is True
    products = read_products(path)
    assert products.provenance["input"] == str(dirty)
    assert header_text("dirty_é%.fits") == "dirty_%C3%A9%25.fits"
    assert header_text("plain 100%.fits") == "plain 100%.fits"  # ASCII: exactly as it is
    # A cube product too.
    cube_path = folder / "cube_天体.fits"
    cube = _cube_product(folder / "cube_天体_i2i.fits", write_cube(cube_path), provenance={"command": command})
    with fits.open(cube) as hdulist:
        for hdu in hdulist:
            if "I2IINPUT" in hdu.header:
                assert "cube_%E5%A4%A9%E4%BD%93.fits" in hdu.header["I2IINPUT"] and hdu.header["I2IPCENC"]


def test_products_repr_is_short(image, tmp_path):
    path, _ = _write(image, tmp_path / "out.fits")
    text = repr(read_products(path))
    assert text.startswith("<Products of") and "64x64 sky, K = 10, 2 source(s), model two_to_one" in text
    assert len(text) < 200 and "[" not in text
