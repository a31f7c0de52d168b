"""What the commands write: a product's own catalogue, non-ASCII paths, output clashes, the API's descriptions."""

import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable

from astro_i2i.cli import main
from astro_i2i.io import read_image, read_products, write_products

from .conftest import celestial_header, make_data

torch = pytest.importorskip("torch")

from .test_inference import model_paths, reconstructor  # noqa: E402, F401  (the small test models)


def _run(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            main([str(arg) for arg in args])
        except SystemExit as exc:
            return exc.code
    return 0


@pytest.fixture
def field(tmp_path):
    header, shape = celestial_header(96)
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(make_data(shape), header=header).writeto(path)
    return path


def _one_error_line(err, *words):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], (word, err)


# --------------------------------------------------------------------------- item 1: catalog PRODUCT.fits


def test_catalog_of_a_product_is_its_own_catalog(reconstructor, field, tmp_path, capsys):
    """The product's SKY is not catalogued again (UNCERTAINTY exceeds it at every peak): its CATALOG is written."""
    product = reconstructor.reconstruct(field, samples=4).write(tmp_path / "field_i2i.fits")
    own = QTable.read(product, hdu="CATALOG")
    assert len(own) > 0
    for table_format, name in (("ecsv", "c.ecsv"), ("fits", "c.fits"), ("votable", "c.vot")):
        assert _run(["catalog", product, "-o", tmp_path / name, "--format", table_format,
                     "--regions", tmp_path / f"{name}.reg"]) == 0  # fmt: skip
        written = QTable.read(tmp_path / name)
        assert len(written) == len(own) and written.colnames == own.colnames
        np.testing.assert_allclose(written["flux"].to_value("Jy"), own["flux"].to_value("Jy"))
        np.testing.assert_allclose(written["ra"].to_value("deg"), own["ra"].to_value("deg"))
        assert (tmp_path / f"{name}.reg").read_text().count("ellipse") == len(own)
    meta = QTable.read(tmp_path / "c.ecsv").meta
    assert meta["thresh"].startswith("reliability >=") and meta["frame"] == "fk5" and meta["image"] == str(product)
    assert meta["I2IMODEL"] == reconstructor.name and "EXTNAME" not in meta
    out = capsys.readouterr().out
    assert f"{len(own)} sources (the product's CATALOG" in out
    # Thresholds that would re-measure the sky model are refused, in one line.
    assert _run(["catalog", product, "-o", tmp_path / "d.ecsv", "--nsigma", "3"]) == 2
    _one_error_line(capsys.readouterr().err, "--nsigma", "field_i2i.fits", "CATALOG")
    assert not (tmp_path / "d.ecsv").exists()


def test_catalog_of_a_product_without_catalog_is_refused(tmp_path, capsys):
    header, shape = celestial_header(64)
    image = read_image((make_data(shape), header))
    product = write_products(tmp_path / "p.fits", np.nan_to_num(image.data) * 0.01, image=image,
                             uncertainty=np.full(image.shape, 1e-6, np.float32))  # fmt: skip
    assert _run(["catalog", product, "-o", tmp_path / "c.ecsv"]) == 2
    _one_error_line(capsys.readouterr().err, "p.fits", "no CATALOG")
    assert not (tmp_path / "c.ecsv").exists()


# --------------------------------------------------------------------------- item 5: non-ASCII paths


def test_non_ascii_paths_are_written_escaped(model_paths, reconstructor, field, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "données"
    folder.mkdir()
    dirty = folder / "dirty_éèü_天体.fits"
    dirty.write_bytes(field.read_bytes())
    monkeypatch.chdir(folder)
    args = ["reconstruct", str(dirty), "--model", str(model_paths["two_to_one"]), "-k", "4", "-o", "résultat.fits",
            "--regions", "régions.reg", "--no-progress"]  # fmt: skip
    monkeypatch.setattr("sys.argv", ["astro-i2i", *args])  # the HISTORY card records the command line
    assert _run(args) == 0
    assert "-> résultat.fits" in capsys.readouterr().out
    with fits.open(folder / "résultat.fits") as hdulist:
        for hdu in hdulist:
            recorded = hdu.header["I2IINPUT"]
            assert recorded.endswith("donn%C3%A9es/dirty_%C3%A9%C3%A8%C3%BC_%E5%A4%A9%E4%BD%93.fits"), recorded
            assert hdu.header["I2IPCENC"] is True
            assert "r%C3%A9sultat.fits" in "".join(hdu.header["HISTORY"])
    assert read_products(folder / "résultat.fits").provenance["input"] == str(dirty)
    # The API, too.
    result = reconstructor.reconstruct(dirty, samples=4)
    path = result.write(folder / "api_é.fits")
    assert read_products(path).provenance["input"] == str(dirty)
    # An ASCII path (and command line) is recorded exactly as it is, without the marker.
    monkeypatch.setattr("sys.argv", ["astro-i2i", "reconstruct", str(field)])
    plain = reconstructor.reconstruct(field, samples=4).write(tmp_path / "plain.fits")
    header = fits.getheader(plain)
    assert header["I2IINPUT"] == str(field) and "I2IPCENC" not in header


# --------------------------------------------------------------------------- item 6: output clashes


def test_output_clashes_are_refused_before_any_work(model_paths, field, tmp_path, capsys, monkeypatch):
    from astro_i2i.reconstruct import Reconstructor

    monkeypatch.chdir(tmp_path)
    model = ["--model", model_paths["two_to_one"], "-k", "2", "--no-progress"]
    loads = []
    original = Reconstructor.from_pretrained.__func__
    monkeypatch.setattr(Reconstructor, "from_pretrained",
                        classmethod(lambda cls, *a, **k: loads.append(1) or original(cls, *a, **k)))  # fmt: skip
    (tmp_path / "pb.fits").write_bytes(field.read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, words in ((["-o", "same.fits", "--quicklook", "same.fits"], ["same.fits", "-o", "--quicklook"]),
                        (["--quicklook", "q2.png", "--regions", "q2.png"], ["q2.png", "--quicklook", "--regions"]),
                        (["-o", "x.fits", "--regions", "./x.fits"], ["x.fits", "--regions"]),
                        (["-o", field, "--overwrite"], ["field.fits", "DIRTY"]),
                        (["--pb", "pb.fits", "--regions", tmp_path / "pb.fits", "--overwrite"], ["pb.fits", "--pb"])):
        assert _run(["reconstruct", field, *model, *args]) == 2, args
        _one_error_line(capsys.readouterr().err, *words)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, args
    assert not loads  # refused before the model was loaded
    # The same input twice: one line, and no empty output directory left.
    assert _run(["reconstruct", field, field, "-o", tmp_path / "outdir/", *model]) == 2
    _one_error_line(capsys.readouterr().err, "field.fits", "given twice")
    assert not (tmp_path / "outdir").exists()


def test_a_failed_run_leaves_nothing(model_paths, field, tmp_path, capsys, monkeypatch):
    from astro_i2i.cli import _reconstruct

    monkeypatch.chdir(tmp_path)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_reconstruct, "write_quicklook", broken)
    assert _run(["reconstruct", field, "--model", model_paths["two_to_one"], "-k", "2", "--no-progress",
                 "--regions", "r.reg", "--quicklook", "q.png"]) == 2  # fmt: skip
    assert "No space left" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field.fits"]


# --------------------------------------------------------------------------- item 14: the API describes itself


def test_reconstruction_documents_its_columns_units_and_properties():
    from astro_i2i import Reconstruction

    doc = Reconstruction.__doc__
    assert "POSTERIOR_COLUMNS" in doc and "CATALOG_COLUMNS" not in doc
    sky = doc[doc.index("sky :"): doc.index("uncertainty :")]
    uncertainty = doc[doc.index("uncertainty :"): doc.index("style :")]
    assert "Jy/pixel" in sky and "Jy/pixel" in uncertainty
    assert "WCS" in Reconstruction.wcs.__doc__ and "header" in Reconstruction.header.__doc__.lower()


def test_products_repr_is_short(reconstructor, field, tmp_path):
    path = reconstructor.reconstruct(field, samples=4).write(tmp_path / "p.fits")
    text = repr(read_products(path))
    assert text.startswith("<Products of") and "96x96" in text and "K = 4" in text and "source(s)" in text
    assert len(text) < 250 and "array" not in text and "[" not in text
