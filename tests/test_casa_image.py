"""Inputs as users have them: CASA image directories, gzipped FITS, and the .pb / .psf tclean writes beside an image.

The data (``astro-i2i example casa_image``, also the tutorial's) are tclean's own products (CASA 6.7) and their
exportfits exports: the reader must give from a directory what astro-i2i reads from its FITS export.
"""

import gzip
import importlib.util
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCSCOMPARE_ANCILLARY

from astro_i2i import InputError
from astro_i2i.data import example_path
from astro_i2i.io import (find_primary_beam, find_psf, is_casa_image, is_cube, read_cube, read_hdu, read_image,
                          read_primary_beam, read_products, read_psf)  # fmt: skip
from astro_i2i.reconstruct import Reconstructor

from .conftest import make_data
from .test_inference import model_paths  # noqa: F401  (the small test models)

#: K = 2 against the test settings' K = 4: reliabilities approximate, which the comparisons here do not mind.
pytestmark = pytest.mark.filterwarnings("ignore::astro_i2i.exceptions.CalibrationWarning")
#: Reading a directory needs the casa extra (the test extra has it); the names tried and its absence do not.
needs_casa = pytest.mark.skipif(importlib.util.find_spec("casa_formats_io") is None,
                                reason="casa-formats-io (astro-i2i[casa]) is not installed")  # fmt: skip

DATA = example_path("casa_image")
KINDS = ("image", "pb", "psf")
#: What astro-i2i reads of a header (the WCS, the unit, the beam, the frequency, the observation): it must be the
#: FITS export's, value for value.
USED_KEYWORDS = [f"{key}{i}" for i in range(1, 5) for key in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "NAXIS")] + [
    "NAXIS", "BUNIT", "BMAJ", "BMIN", "BPA", "BTYPE", "OBJECT", "RESTFRQ", "SPECSYS", "RADESYS", "EQUINOX", "LONPOLE",
    "LATPOLE", "TELESCOP", "OBSERVER", "DATE-OBS", "TIMESYS", "OBSRA", "OBSDEC", "OBSGEO-X", "OBSGEO-Y", "OBSGEO-Z",
    "INSTRUME", "PV2_1", "PV2_2",
]  # fmt: skip


from .test_outputs import _run  # noqa: E402  (the CLI runner)


@pytest.fixture(scope="module")
def model_path(model_paths):  # noqa: F811
    """The suite's small 2-to-1 model (0.1" pixels, a tclean-like beam): a 256 x 256 image takes about a second."""
    return model_paths["two_to_one"]


@pytest.fixture
def layouts(tmp_path):
    """The same three products as a user may have them: tclean's directories, their FITS exports, gzipped FITS."""
    folders = {name: tmp_path / name for name in ("casa", "fits", "gz")}
    for folder in folders.values():
        folder.mkdir()
    for kind in KINDS:
        shutil.copytree(DATA / f"dirty.{kind}", folders["casa"] / f"dirty.{kind}")
        shutil.copy(DATA / f"dirty.{kind}.fits", folders["fits"] / f"dirty.{kind}.fits")
        with open(DATA / f"dirty.{kind}.fits", "rb") as source, gzip.open(folders["gz"] / f"dirty.{kind}.fits.gz",
                                                                          "wb") as target:  # fmt: skip
            shutil.copyfileobj(source, target)
    return {"casa": folders["casa"] / "dirty.image", "fits": folders["fits"] / "dirty.image.fits",
            "gz": folders["gz"] / "dirty.image.fits.gz"}  # fmt: skip


# ----------------------------------------------------------------------------- the reader


@needs_casa
@pytest.mark.parametrize("kind", KINDS)
def test_directory_reads_as_its_fits_export(kind):
    directory, export = DATA / f"dirty.{kind}", DATA / f"dirty.{kind}.fits"
    assert is_casa_image(directory) and not is_casa_image(export)
    data, header, name, index = read_hdu(directory)
    with fits.open(export) as hdulist:
        expected, expected_header = hdulist[0].data, hdulist[0].header
    assert name == str(directory) and index is None
    assert data.dtype == np.float32 and data.shape == expected.shape == (1, 1, 256, 256)
    assert np.array_equal(data, expected, equal_nan=True)
    for keyword in USED_KEYWORDS:
        assert (keyword in header) == (keyword in expected_header), keyword
        if isinstance(expected_header.get(keyword), float):  # 13 digits as exportfits writes; OBSGEO to 1e-6 m
            assert header[keyword] == pytest.approx(expected_header[keyword], rel=1e-12, abs=1e-300), keyword
        elif keyword in expected_header:
            assert header[keyword] == expected_header[keyword], keyword


@needs_casa
def test_dirty_image_directory_gives_the_same_image():
    image, export = read_image(DATA / "dirty.image"), read_image(DATA / "dirty.image.fits")
    assert np.array_equal(image.data, export.data, equal_nan=True)
    # The celestial WCS to the last bit (OBSGEO-X/Y/Z, ancillary, are computed by casa-formats-io: 1e-6 m apart).
    assert image.wcs.wcs.compare(export.wcs.wcs, cmp=WCSCOMPARE_ANCILLARY)
    mine, theirs = ({k: v for k, v in w.to_header().items() if not k.startswith("OBSGEO")} for w in (image.wcs,
                                                                                                    export.wcs))
    assert mine == theirs
    assert image.beam == export.beam and image.beam_source == export.beam_source == "header"
    assert image.beam.major.to_value(u.arcsec) == pytest.approx(0.8912818, abs=1e-6)
    assert image.unit == export.unit == u.Jy / u.beam and image.original_unit == export.original_unit == "Jy/beam"
    assert image.frequency == export.frequency and u.isclose(image.frequency, 230 * u.GHz)
    assert image.original_axes == export.original_axes == ("RA---SIN", "DEC--SIN", "FREQ", "STOKES")
    # The PSF and the primary beam read from their directories as from their exports.
    assert np.array_equal(read_psf(DATA / "dirty.psf", image=image), read_psf(DATA / "dirty.psf.fits", image=export))
    assert np.array_equal(read_primary_beam(DATA / "dirty.pb", image=image),
                          read_primary_beam(DATA / "dirty.pb.fits", image=export))  # fmt: skip


@needs_casa
def test_directory_reads_as_a_cube_like_its_export():
    assert not is_cube(DATA / "dirty.image")  # one channel: an image
    cube, export = read_cube(DATA / "dirty.image"), read_cube(DATA / "dirty.image.fits")
    assert cube.shape == export.shape == (1, 256, 256)
    assert np.array_equal(cube.channel(0).data, export.channel(0).data, equal_nan=True)
    assert u.allclose(cube.spectral_axis, export.spectral_axis)
    assert cube.celestial_wcs.wcs.compare(export.celestial_wcs.wcs, cmp=WCSCOMPARE_ANCILLARY)
    assert u.allclose(cube.beams[0].major, export.beams[0].major, rtol=1e-9)


@needs_casa
def test_per_channel_beams_are_a_beams_table_as_exportfits_writes(tmp_path):
    """CASA keeps a cube's beams in imageinfo's perplanebeams: the header and BEAMS table read as a FITS cube's."""
    from casa_formats_io import getdesc

    from astro_i2i.io._casa import casa_header

    keywords = getdesc(str(DATA / "dirty.image"))["_keywords_"]
    majors = [0.89, 0.90, 0.91]
    keywords["imageinfo"] = {"imagetype": "Intensity", "perplanebeams": {
        "nChannels": 3, "nStokes": 1, **{f"*{k}": {"major": {"value": m, "unit": "arcsec"},
                                                   "minor": {"value": 0.82, "unit": "arcsec"},
                                                   "positionangle": {"value": 80.0, "unit": "deg"}}
                                         for k, m in enumerate(majors)}}}  # fmt: skip
    # The image's own axis order is RA, DEC, STOKES, FREQ (numpy: freq, stokes, y, x); exportfits puts STOKES last.
    header, beams, order = casa_header(keywords, (3, 1, 64, 64), "cube.image")
    assert order == [1, 2, 4, 3]
    assert [header[f"CTYPE{i}"] for i in (3, 4)] == ["FREQ", "STOKES"] and header["NAXIS3"] == 3
    assert header["CASAMBM"] and "BMAJ" not in header
    assert list(beams.data["CHAN"]) == [0, 1, 2] and list(beams.data["POL"]) == [0, 0, 0]
    np.testing.assert_allclose(beams.data["BMAJ"], majors, rtol=1e-6)
    # Written as FITS with that table, the cube reads with its per-channel beams.
    data = np.stack([make_data((64, 64), seed=k) for k in range(3)])[np.newaxis]
    fits.HDUList([fits.PrimaryHDU(data, header=header), beams]).writeto(tmp_path / "cube.fits")
    cube = read_cube(tmp_path / "cube.fits")
    np.testing.assert_allclose([b.major.to_value(u.arcsec) for b in cube.beams], majors, rtol=1e-6)


@needs_casa
def test_directory_with_per_plane_beams_reads_them(monkeypatch):
    """The real image's pixels with its one beam kept as CASA keeps a cube's (perplanebeams): read from there."""
    from casa_formats_io import getdesc

    from astro_i2i.io import _casa

    keywords = getdesc(str(DATA / "dirty.image"))["_keywords_"]
    keywords["imageinfo"] = {"imagetype": "Intensity", "perplanebeams": {"nChannels": 1, "nStokes": 1, "*0": {
        "major": {"value": 0.95, "unit": "arcsec"}, "minor": {"value": 0.85, "unit": "arcsec"},
        "positionangle": {"value": 10.0, "unit": "deg"}}}}  # fmt: skip
    monkeypatch.setattr(_casa, "_keywords", lambda path, name: keywords)
    cube = read_cube(DATA / "dirty.image")
    assert [round(b.major.to_value(u.arcsec), 6) for b in cube.beams] == [0.95]
    assert read_image(DATA / "dirty.image").beam.minor.to_value(u.arcsec) == pytest.approx(0.85)


def test_gzipped_fits_reads_everywhere_fits_does(layouts):
    gz, plain = layouts["gz"], layouts["fits"]
    assert np.array_equal(read_image(gz).data, read_image(plain).data, equal_nan=True)
    assert read_image(gz).beam == read_image(plain).beam
    assert not is_cube(gz) and read_cube(gz).shape == (1, 256, 256)
    assert find_primary_beam(gz) == gz.with_name("dirty.pb.fits.gz")
    assert find_psf(gz) == gz.with_name("dirty.psf.fits.gz")


@needs_casa
def test_directory_that_is_not_an_image_is_named(tmp_path):
    table = tmp_path / "obs.ms"
    shutil.copytree(DATA / "dirty.psf", table)
    (table / "table.info").write_text("Type = Measurement Set\nSubType = \n")
    with pytest.raises(InputError, match="obs.ms: is a CASA table of type 'Measurement Set', not an image"):
        read_image(table)
    empty = tmp_path / "lost.image"
    empty.mkdir()
    with pytest.raises(InputError, match="lost.image: is a directory named as a CASA image but without its table"):
        read_image(empty)
    with pytest.raises(InputError, match="no HDU 1"):
        read_image(DATA / "dirty.image", hdu=1)


# ----------------------------------------------------------------------------- reconstruct, info


@needs_casa
def test_directory_and_gzip_reconstruct_like_the_fits_export(layouts, model_path, tmp_path, capsys):
    products = {}
    for kind, dirty in layouts.items():
        output = tmp_path / f"{kind}_i2i.fits"
        assert _run(["reconstruct", dirty, "--model", model_path, "--samples", "2", "-o", output,
                     "--no-progress"]) == 0, capsys.readouterr().err  # fmt: skip
        products[kind] = read_products(output)
    reference = products["fits"]
    assert reference.uncertainty is not None and len(reference.catalog) > 0
    for kind in ("casa", "gz"):
        assert np.array_equal(products[kind].sky, reference.sky, equal_nan=True), kind
        assert np.array_equal(products[kind].uncertainty, reference.uncertainty, equal_nan=True), kind
        assert products[kind].catalog.colnames == reference.catalog.colnames
        for column in reference.catalog.colnames:  # NaN where the reference has NaN
            np.testing.assert_array_equal(np.asarray(products[kind].catalog[column]),
                                          np.asarray(reference.catalog[column]), err_msg=f"{kind} {column}")  # fmt: skip
        assert products[kind].header["I2IINPUT"] == str(layouts[kind])
    # Each used the primary beam beside it, and says which.
    assert products["casa"].provenance["primary_beam"] == str(layouts["casa"].with_name("dirty.pb"))
    assert products["fits"].provenance["primary_beam"] == str(layouts["fits"].with_name("dirty.pb.fits"))
    assert products["gz"].provenance["primary_beam"] == str(layouts["gz"].with_name("dirty.pb.fits.gz"))


def test_archive_pbcor_finds_its_gzipped_pb(model_path, tmp_path, capsys):
    """The ALMA archive's ``*.pbcor.fits`` with ``--pbcor`` and no ``--pb``: the ``*.pb.fits.gz`` beside it is
    used, and the product is the uncorrected image's (tclean's ``dirty.image.fits`` with its ``dirty.pb.fits``)."""
    archive = tmp_path / "archive"
    shutil.copytree(DATA / "archive", archive)
    (corrected,) = archive.glob("*.pbcor.fits")
    products = {}
    for name, command in {"archive": [corrected, "--pbcor"],
                          "tclean": [DATA / "dirty.image.fits", "--pb", DATA / "dirty.pb.fits"]}.items():  # fmt: skip
        output = tmp_path / f"{name}_i2i.fits"
        assert _run(["reconstruct", *command, "--model", model_path, "--samples", "2", "-o", output,
                     "--no-clean-bright", "--no-progress"]) == 0, capsys.readouterr().err  # fmt: skip
        products[name] = read_products(output)
    assert products["archive"].provenance["primary_beam"].endswith(".pb.fits.gz")
    assert len(products["tclean"].catalog) > 0
    np.testing.assert_allclose(products["archive"].sky, products["tclean"].sky, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(np.asarray(products["archive"].catalog["flux"]),
                               np.asarray(products["tclean"].catalog["flux"]), rtol=1e-3)  # fmt: skip
    # Without the .pb beside it, one line naming what is missing.
    (tmp_path / "alone").mkdir()
    shutil.copy(corrected, tmp_path / "alone" / corrected.name)
    assert _run(["reconstruct", tmp_path / "alone" / corrected.name, "--pbcor", "--model", model_path, "-o",
                 tmp_path / "x.fits"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--pbcor" in err and "X.pb.fits.gz" in err and "Traceback" not in err and not (tmp_path / "x.fits").exists()


@needs_casa
def test_pb_and_psf_beside_a_tclean_image_are_used_and_recorded(layouts, model_path, caplog):
    reconstructor = Reconstructor.from_pretrained(model_path)
    dirty = layouts["casa"]
    with caplog.at_level(logging.INFO, logger="astro_i2i"):
        found = reconstructor.reconstruct(dirty, samples=2)
    assert found.provenance["primary_beam"] == str(dirty.with_name("dirty.pb"))
    assert found.provenance["psf"] == str(dirty.with_name("dirty.psf"))
    assert "PSF" in caplog.text and "(found beside it)" in caplog.text
    # The same run as with both given explicitly (the image read first: a PSF given to the reader would also set
    # the beam, which one found beside the image does not): they were used, not only named.
    given = reconstructor.reconstruct(read_image(dirty), samples=2, primary_beam=DATA / "dirty.pb.fits",
                                      psf=DATA / "dirty.psf.fits")  # fmt: skip
    assert np.array_equal(found.sky, given.sky, equal_nan=True)
    assert np.array_equal(found.uncertainty, given.uncertainty, equal_nan=True)
    assert np.array_equal(np.asarray(found.catalog["flux"]), np.asarray(given.catalog["flux"]))
    # Without them beside it, the model's antenna and no PSF: other fluxes.
    alone = dirty.parent / "alone"
    alone.mkdir()
    shutil.copytree(dirty, alone / "dirty.image")
    bare = reconstructor.reconstruct(alone / "dirty.image", samples=2)
    assert "primary_beam" not in bare.provenance and "psf" not in bare.provenance
    assert not np.array_equal(np.asarray(bare.catalog["flux"]), np.asarray(found.catalog["flux"]))


@needs_casa
def test_product_header_records_the_pb_and_psf_found(layouts, model_path, tmp_path):
    from astro_i2i.io._products import _PROVENANCE_KEYWORDS

    result = Reconstructor.from_pretrained(model_path).reconstruct(layouts["fits"], samples=2)
    header = read_products(result.write(tmp_path / "p.fits")).header
    assert header["I2IPB"] == str(layouts["fits"].with_name("dirty.pb.fits"))
    assert header[_PROVENANCE_KEYWORDS["psf"][0]] == str(layouts["fits"].with_name("dirty.psf.fits"))


@needs_casa
@pytest.mark.parametrize("name, pb, psf", [
    ("X.image", "X.pb", "X.psf"),
    ("X.image.fits", "X.pb.fits", "X.psf.fits"),
    ("X.image.fits.gz", "X.pb.fits.gz", "X.psf.fits.gz"),
    ("X.image.pbcor.fits", "X.pb.fits", "X.psf.fits"),
    ("X.pbcor.fits", "X.pb.fits", "X.psf.fits"),
    ("X.image.pbcor", "X.pb", "X.psf"),
    ("member.uid___A001_X1_X2.sci.spw0.cont.I.pbcor.fits", "member.uid___A001_X1_X2.sci.spw0.cont.I.pb.fits.gz",
     None),
])  # fmt: skip
def test_names_tried_beside_an_image(tmp_path, name, pb, psf):
    for kind in ("pb", "psf"):  # CASA directories, and FITS files of the other endings
        (tmp_path / f"X.{kind}").mkdir()
        (tmp_path / f"X.{kind}" / "table.dat").write_bytes(b"")
    for companion in {pb, psf} - {None, "X.pb", "X.psf"}:
        (tmp_path / companion).write_bytes(b"")
    image = tmp_path / name
    assert find_primary_beam(image) == tmp_path / pb
    assert find_psf(image) == (None if psf is None else tmp_path / psf)
    assert find_primary_beam(tmp_path / "dirty_000.fits") is None and find_psf(tmp_path / "X.residual") is None


@needs_casa
def test_casa_directory_beside_is_skipped_without_the_extra(tmp_path, monkeypatch):
    (tmp_path / "X.pb").mkdir()
    (tmp_path / "X.pb" / "table.dat").write_bytes(b"")
    assert find_primary_beam(tmp_path / "X.image.fits") == tmp_path / "X.pb"
    monkeypatch.setitem(sys.modules, "casa_formats_io", None)
    assert find_primary_beam(tmp_path / "X.image.fits") is None


@needs_casa
def test_adapt_takes_the_psf_and_pb_beside_dirty(layouts):
    from astro_i2i.cli._adapt import _found_beside

    from astro_i2i.training import describe_observation

    dirty = layouts["casa"]
    psf, pb = _found_beside(dirty, psf=None, pb=None, psf_wanted=True)
    assert (psf, pb) == (str(dirty.with_name("dirty.psf")), str(dirty.with_name("dirty.pb")))
    # The set-up is made from the directories, and the adapted model's notes name them.
    _, observation, notes = describe_observation(dirty, psf=psf, primary_beam=pb)
    assert notes["psf"] == psf and notes["primary_beam"] == pb
    np.testing.assert_array_equal(observation.primary_beam, read_primary_beam(DATA / "dirty.pb.fits",
                                                                              image=read_image(dirty)))  # fmt: skip
    # An explicit --psf / --pb wins; with --array the PSF is computed, none is looked for.
    assert _found_beside(dirty, psf="my.psf.fits", pb="my.pb.fits", psf_wanted=False) == ("my.psf.fits", "my.pb.fits")
    assert _found_beside(dirty, psf=None, pb=None, psf_wanted=False)[0] is None


@needs_casa
def test_info_describes_directories(capsys):
    assert _run(["info", DATA / "dirty.image"]) == 0
    out = capsys.readouterr().out
    assert "256 x 256 pixels" in out and "0.891\" x 0.821\"" in out and "230.0000 GHz" in out
    assert _run(["info", DATA / "dirty.psf"]) == 0
    assert "kind:        PSF" in capsys.readouterr().out
    assert _run(["info", DATA / "dirty.pb"]) == 0
    assert "kind:        primary beam" in capsys.readouterr().out


# ----------------------------------------------------------------------------- without casa-formats-io


def test_without_the_extra_the_error_is_one_line(monkeypatch, model_path, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "casa_formats_io", None)  # import fails as if not installed
    directory = DATA / "dirty.image"
    with pytest.raises(InputError) as caught:
        read_image(directory)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{directory}: a CASA image directory")
    assert "pip install 'astro-i2i[casa]'" in message and "exportfits" in message
    assert not is_cube(directory)  # quiet: the reader says why
    for args in (["info", directory], ["reconstruct", directory, "--model", model_path, "-o", tmp_path / "o.fits"]):
        assert _run(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: {directory}: a CASA image directory"), err
        assert "astro-i2i[casa]" in err and "exportfits" in err and "Traceback" not in err
    assert not (tmp_path / "o.fits").exists()


@needs_casa
def test_default_product_name_keeps_tcleans_suffix(layouts, model_path, tmp_path, monkeypatch, capsys):
    """``dirty.image`` (a directory) and ``dirty.image.fits`` both give ``dirty.image_i2i.fits``, alone or with
    several inputs (reconstruct.many.product_path's rule)."""
    monkeypatch.chdir(tmp_path)
    for dirty in (layouts["casa"], layouts["gz"]):
        assert _run(["reconstruct", dirty, "--model", model_path, "--samples", "1", "--no-progress",
                     "--overwrite"]) == 0, capsys.readouterr().err  # fmt: skip
        assert (tmp_path / "dirty.image_i2i.fits").is_file()
        (tmp_path / "dirty.image_i2i.fits").unlink()
