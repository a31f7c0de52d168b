"""Catalogue and region files other tools read as their own (issue 28 items 2-3): units, descriptions, UCDs."""

import shutil
import subprocess

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import QTable, Table

from astro_i2i import InputError
from astro_i2i.catalog import (CATALOG_COLUMNS, COLUMN_META, POSTERIOR_COLUMNS, describe_columns, find_sources,
                               write_catalog, write_regions)  # fmt: skip
from astro_i2i.io import read_image, read_products, write_products

from .conftest import celestial_header, make_data

#: The posterior catalogue's columns after issue 28 (POSTERIOR_COLUMNS is being extended to them in parallel).
NEW_COLUMNS = ("id", "name", "ra", "ra_err", "dec", "dec_err", "x", "y", "flux", "flux_err", "peak_flux",
               "peak_flux_err", "local_rms", "model_peak", "snr", "fwhm_maj", "fwhm_min", "pa", "size_err", "pa_err",
               "morphology", "bright", "detection_fraction", "reliability", "mf_snr")  # fmt: skip
CUBE_COLUMNS = ("source_id", "channel", "freq", "velocity", "spectral", "peak_channel", "peak_freq", "peak_velocity",
                "peak_spectral", "flux_peak", "flux_integrated", "n_channels")  # fmt: skip


def _posterior_like(n=3):
    """A catalogue with the posterior catalogue's new columns, as posterior_catalog makes it (units, own text)."""
    rng = np.random.default_rng(1)
    table = QTable(meta={"frame": "fk5", "noise": 4.9e-5, "minrel": 0.3,
                         "thresh": "reliability >= 0.3 among sky-model peaks above 0.8 x dirty noise per beam area"})
    table["id"] = np.arange(1, n + 1)
    table["name"] = [f"ALMA J100028.{k:02d}+021221.0" for k in range(n)]
    table["ra"] = (150.1191667 + 1e-4 * np.arange(n)) * u.deg
    table["ra_err"] = np.full(n, 0.02) * u.arcsec
    table["dec"] = (2.2058333 - 1e-4 * np.arange(n)) * u.deg
    table["dec_err"] = np.full(n, 0.02) * u.arcsec
    table["x"], table["y"] = rng.uniform(0, 64, n) * u.pix, rng.uniform(0, 64, n) * u.pix
    table["flux"] = rng.uniform(1e-4, 1e-3, n) * u.Jy
    table["flux"].info.description = "the producer's own description"
    table["flux_err"] = np.full(n, 5e-5) * u.Jy
    table["peak_flux"] = table["flux"].value * u.Jy / u.beam
    table["peak_flux_err"] = np.full(n, 5e-5) * u.Jy / u.beam
    table["local_rms"] = np.full(n, 5e-5) * u.Jy / u.beam
    table["model_peak"] = np.full(n, 2e-6) * u.Jy / u.pix
    table["snr"] = table["flux"].value / 5e-5
    table["fwhm_maj"] = np.r_[1.0, np.nan, 0.9][:n] * u.arcsec
    table["fwhm_min"] = np.r_[0.6, np.nan, 0.8][:n] * u.arcsec
    table["pa"] = np.r_[30.0, np.nan, 120.0][:n] * u.deg
    table["size_err"] = np.full(n, np.nan) * u.arcsec
    table["pa_err"] = np.full(n, np.nan) * u.deg
    table["morphology"] = np.array(["point", "", ""][:n], dtype="<U8")
    table["detection_fraction"] = np.full(n, np.nan)
    table["reliability"] = np.r_[0.93, 0.5, np.nan][:n]
    table["mf_snr"] = np.full(n, 6.0)
    return table


def _segment_catalog():
    header, _ = celestial_header(64, bunit="Jy/pixel")
    yy, xx = np.mgrid[:64, :64]
    sky = 1e-4 * np.exp(-((xx - 30) ** 2 + (yy - 34) ** 2) / 4.0) + 5e-5 * np.exp(-((xx - 40) ** 2 + (yy - 20) ** 2) / 3)
    sky += np.random.default_rng(3).normal(0, 1e-6, sky.shape)
    from astropy.wcs import WCS

    return find_sources(sky, WCS(header), unit="Jy/pixel")


@pytest.fixture(params=["posterior", "segment"])
def catalog(request):
    """Whatever columns a catalogue has: the posterior catalogue's new ones, or find_sources'."""
    return _posterior_like() if request.param == "posterior" else _segment_catalog()


# --------------------------------------------------------------------------- the column table


def test_every_ucd_is_in_the_controlled_vocabulary():
    from astropy.io.votable.ucd import check_ucd

    for name, (unit, description, ucd) in COLUMN_META.items():
        assert check_ucd(ucd, check_controlled_vocabulary=True), (name, ucd)
        assert description, name
        if unit is not None:
            u.Unit(unit)  # a proper astropy unit string
    covered = set(COLUMN_META)
    assert set(NEW_COLUMNS) | set(CUBE_COLUMNS) | set(CATALOG_COLUMNS) | set(POSTERIOR_COLUMNS) <= covered


def test_describe_columns_fills_in_only_what_is_missing():
    table = Table({name: np.zeros(2) if name not in ("name", "morphology") else np.array(["a", "b"])
                   for name in NEW_COLUMNS})  # fmt: skip
    table["flux"].unit = "mJy"
    table["flux"].description = "mine"
    table["extra"] = [1, 2]
    assert describe_columns(table) is table
    for name in NEW_COLUMNS:
        unit, description, ucd = COLUMN_META[name]
        column = table[name]
        assert column.meta["ucd"] == ucd, name
        assert column.description, name
        if name != "flux":
            assert column.description == description
            assert (column.unit is None) if unit is None else column.unit == u.Unit(unit), name
    assert table["flux"].unit == u.mJy and table["flux"].description == "mine"
    assert table["peak_flux"].unit == u.Jy / u.beam and table["model_peak"].unit == u.Jy / u.pix
    assert table["ra_err"].unit == u.arcsec and table["local_rms"].unit == u.Jy / u.beam
    assert table["name"].unit is None and "extra" not in COLUMN_META and not table["extra"].meta
    with pytest.raises(TypeError, match="'dict'"):
        describe_columns({"id": [1]})


# --------------------------------------------------------------------------- formats


def _check_described(name, unit, description, ucd, original):
    expected_unit = getattr(original[name], "unit", None)
    if expected_unit is None and COLUMN_META.get(name, (None,))[0] is not None:
        expected_unit = u.Unit(COLUMN_META[name][0])
    if expected_unit is not None and expected_unit != u.dimensionless_unscaled:
        assert u.Unit(unit) == expected_unit, (name, unit)
    expected = original[name].info.description or COLUMN_META[name][1]
    assert " ".join(str(description).split()) == expected, (name, description)  # VOTable wraps long text
    assert ucd == COLUMN_META[name][2], (name, ucd)


def test_fits_catalog_reads_back_with_units_tcomm_and_tucd(catalog, tmp_path):
    path = write_catalog(catalog, tmp_path / "c.fits")
    back = Table.read(path)
    assert back.colnames == catalog.colnames and len(back) == len(catalog)
    np.testing.assert_allclose(back["flux"], u.Quantity(catalog["flux"]).to_value(back["flux"].unit))
    header = fits.getheader(path, 1)
    for n, name in enumerate(catalog.colnames, start=1):
        _check_described(name, header.get(f"TUNIT{n}", ""), header[f"TCOMM{n}"], header[f"TUCD{n}"], catalog)
    assert header["FRAME"] == catalog.meta["frame"]
    assert not catalog["ra"].info.meta or "ucd" not in catalog["ra"].info.meta  # the table given is not changed
    if shutil.which("fitsverify"):
        report = subprocess.run(["fitsverify", str(path)], check=False, capture_output=True, text=True)
        assert "0 warning(s) and 0 error(s)" in report.stdout, report.stdout


@pytest.mark.parametrize("suffix", [".vot", ".xml"])
def test_votable_catalog_fields_have_ucd_unit_and_description(catalog, tmp_path, suffix):
    from astropy.io.votable import parse

    path = write_catalog(catalog, tmp_path / f"c{suffix}")
    votable = parse(str(path))
    table = votable.get_first_table()
    assert [field.name for field in table.fields] == catalog.colnames
    for field in table.fields:
        _check_described(field.name, field.unit or "", field.description, field.ucd, catalog)
    assert {field.name: field.ref for field in table.fields}["ra"] == "system"
    system = votable.resources[0].coordinate_systems[0]
    assert system.system == ("eq_FK5" if catalog.meta["frame"] == "fk5" else "ICRS")
    assert {info.name: info.value for info in table.infos}["thresh"] == catalog.meta["thresh"]
    back = QTable.read(path)
    np.testing.assert_allclose(back["ra"].to_value(u.deg), u.Quantity(catalog["ra"]).to_value(u.deg))
    if "name" in catalog.colnames:
        assert {field.name: field.datatype for field in table.fields}["name"] == "char"
        assert list(back["name"]) == list(catalog["name"])


def test_ecsv_and_csv_catalogs(catalog, tmp_path):
    back = QTable.read(write_catalog(catalog, tmp_path / "c.ecsv"))
    for name in catalog.colnames:
        _check_described(name, str(getattr(back[name], "unit", None) or ""), back[name].info.description,
                         back[name].info.meta["ucd"], catalog)  # fmt: skip
    assert back.meta["thresh"] == catalog.meta["thresh"]
    plain = Table.read(write_catalog(catalog, tmp_path / "c.CSV"), format="ascii.csv")
    assert plain.colnames == catalog.colnames  # one header row of names: spreadsheets, pandas
    np.testing.assert_allclose(plain["flux"], u.Quantity(catalog["flux"]).to_value(u.Jy))
    assert (tmp_path / "c.CSV").read_text().startswith("id,")


def test_refusals_leave_no_file(tmp_path):
    table = _posterior_like()
    with pytest.raises(ValueError, match=r"c\.txt.*\.fits, \.vot, \.xml, \.ecsv, \.csv"):
        write_catalog(table, tmp_path / "c.txt")
    with pytest.raises(ValueError, match=r"r\.txt.*\.reg, \.crtf"):
        write_regions(table, tmp_path / "r.txt")
    assert list(tmp_path.iterdir()) == []
    for name in ("c.fits", "c.vot", "c.ecsv", "c.csv", "r.reg", "r.crtf"):
        (tmp_path / name).write_text("kept")
        write = write_regions if name.startswith("r.") else write_catalog
        with pytest.raises(InputError, match="exists"):
            write(table, tmp_path / name)
        assert (tmp_path / name).read_text() == "kept"
        write(table, tmp_path / name, overwrite=True)
        assert (tmp_path / name).read_bytes() != b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "c.ecsv", "c.fits", "c.vot", "r.crtf", "r.reg"]


# --------------------------------------------------------------------------- regions


def test_regions_read_back_as_ellipses_with_labels(tmp_path):
    from regions import EllipseSkyRegion, Regions

    table = _posterior_like()
    beam = (0.89 * u.arcsec, 0.82 * u.arcsec, 82 * u.deg)
    ds9 = write_regions(table, tmp_path / "s.reg", beam=beam)
    crtf = write_regions(table, tmp_path / "s.crtf", beam=beam)
    assert ds9.read_text().startswith("# Region file format: DS9")  # the line CARTA looks for
    assert crtf.read_text().startswith("#CRTFv0")
    for path, label_key in ((ds9, "text"), (crtf, "label")):
        shapes = Regions.read(str(path))
        assert len(shapes) == len(table) and all(isinstance(s, EllipseSkyRegion) for s in shapes)
        labels = [shape.meta[label_key] for shape in shapes]
        assert labels == [f"{table['name'][0]} R=0.93", f"{table['name'][1]} R=0.50", table["name"][2]]
        for shape, row in zip(shapes, table):
            major = row["fwhm_maj"] if np.isfinite(row["fwhm_maj"]) else beam[0]
            minor = row["fwhm_min"] if np.isfinite(row["fwhm_min"]) else beam[1]
            pa = row["pa"] if np.isfinite(row["pa"]) else beam[2]
            assert shape.center.ra.deg == pytest.approx(row["ra"].to_value(u.deg), abs=1e-8)
            if path.suffix == ".reg":  # DS9: the major axis first, its angle from the RA axis
                axes, angle = (shape.width, shape.height), pa + 90 * u.deg
            else:  # CRTF: the major axis first, at PA (north through east)
                axes, angle = (shape.height, shape.width), pa
            assert axes[0].to_value(u.arcsec) == pytest.approx(major.to_value(u.arcsec), rel=1e-4)
            assert axes[1].to_value(u.arcsec) == pytest.approx(minor.to_value(u.arcsec), rel=1e-4)
            assert shape.angle.to_value(u.deg) == pytest.approx(angle.to_value(u.deg), abs=1e-6)
    assert "j2000" in ds9.read_text() and "coord=J2000" in crtf.read_text()  # the table's FK5


def test_regions_without_name_are_labelled_by_id_and_without_beam_are_points(tmp_path):
    from regions import PointSkyRegion, Regions

    table = _segment_catalog()
    assert "name" not in table.colnames and len(table) == 2
    table["fwhm_maj"][1] = np.nan
    for name in ("t.reg", "t.crtf"):
        shapes = Regions.read(str(write_regions(table, tmp_path / name)))
        key = "text" if name.endswith(".reg") else "label"
        assert [str(s.meta[key]) for s in shapes] == ["1", "2"]
        assert isinstance(shapes[1], PointSkyRegion)
    empty = write_regions(table[:0], tmp_path / "empty.reg")
    assert empty.read_text().startswith("# Region file format: DS9") and len(Regions.read(str(empty))) == 0
    with pytest.raises(ValueError, match="no ra or dec"):
        write_regions(Table({"id": [1]}), tmp_path / "x.reg")
    assert not (tmp_path / "x.reg").exists()


# --------------------------------------------------------------------------- the product's CATALOG extension


def test_product_catalog_has_tcomm_and_tucd_and_reads_back_described(tmp_path):
    header, shape = celestial_header(64)
    image = read_image((make_data(shape), header))
    table = _posterior_like()
    path = write_products(tmp_path / "p.fits", np.nan_to_num(image.data) * 0.01, image=image, catalog=table)
    with fits.open(path) as hdulist:
        cards = hdulist["CATALOG"].header
        for n, name in enumerate(table.colnames, start=1):
            assert cards[f"TTYPE{n}"] == name
            _check_described(name, cards.get(f"TUNIT{n}", ""), cards[f"TCOMM{n}"], cards[f"TUCD{n}"], table)
    catalog = read_products(path).catalog
    assert not [key for key in catalog.meta if key.startswith(("TCOMM", "TUCD"))]
    assert catalog["flux"].info.description == "the producer's own description"
    assert catalog["reliability"].info.meta["ucd"] == "stat.probability"
    if shutil.which("fitsverify"):
        report = subprocess.run(["fitsverify", str(path)], check=False, capture_output=True, text=True)
        assert "0 warning(s) and 0 error(s)" in report.stdout, report.stdout


# --------------------------------------------------------------------------- cubes and the CLI (torch)


def test_cube_sources_integrate_in_km_per_s_and_detections_name_their_source():
    pytest.importorskip("torch")  # astro_i2i.reconstruct imports it
    from astro_i2i.reconstruct import merge_channels

    detections = QTable({"id": [1, 1, 2], "ra": [10.0, 10.00001, 10.01] * u.deg, "dec": [-5.0, -5.0, -5.0] * u.deg,
                         "flux": [1e-3, 2e-3, 5e-4] * u.Jy, "channel": [0, 1, 1],
                         "freq": [230.0, 230.001, 230.001] * u.GHz}, meta={"frame": "icrs"})  # fmt: skip
    rest = 230.538 * u.GHz
    sources = merge_channels(detections, beam_fwhm=1 * u.arcsec, channel_width=-1 * u.MHz, rest_frequency=rest)
    assert sources["flux_integrated"].unit == u.Jy * u.km / u.s
    assert sources["flux_integrated"].unit.to_string("fits") == "Jy km s-1"
    dv = (1 * u.MHz / rest * 299792.458 * u.km / u.s).decompose().to_value(u.km / u.s)
    assert sources["flux_integrated"][0].to_value(u.Jy * u.km / u.s) == pytest.approx(3e-3 * dv)
    assert "radio convention" in sources["flux_integrated"].info.description
    assert detections.colnames[:2] == ["id", "source_id"] and list(detections["source_id"]) == [1, 1, 2]
    assert set(detections["source_id"]) == set(sources["id"]) and detections["source_id"].info.description
    assert sources.meta["frame"] == "icrs" and sources["id"].info.meta["ucd"] == "meta.id;meta.main"
    # Without a rest frequency a frequency axis integrates in Jy Hz; a velocity axis always in Jy km/s.
    plain = merge_channels(detections, beam_fwhm=1 * u.arcsec, channel_width=1 * u.MHz)
    assert plain["flux_integrated"].unit == u.Jy * u.Hz
    velocity = merge_channels(detections, beam_fwhm=1 * u.arcsec, channel_width=-2500 * u.m / u.s)
    assert velocity["flux_integrated"][0].to_value(u.Jy * u.km / u.s) == pytest.approx(3e-3 * 2.5)


from .test_outputs import _run, field  # noqa: E402, F401  (the CLI runner and a 96 x 96 field)


try:
    from .test_inference import model_paths  # noqa: F401  (the small test models; needs torch)
except ImportError:

    @pytest.fixture(scope="module")
    def model_paths():
        pytest.skip("needs torch")


@pytest.fixture(scope="module")
def small_model(model_paths):  # noqa: F811
    return model_paths["two_to_one"]


def test_cli_reconstruct_writes_catalog_and_regions(small_model, field, tmp_path, capsys, monkeypatch):
    from astropy.io.votable import parse
    from regions import Regions

    monkeypatch.chdir(tmp_path)
    model = ["--model", small_model, "-k", "2", "--no-progress"]
    assert _run(["reconstruct", field, *model, "--catalog", "x.vot", "--regions", "x.crtf"]) == 0
    out = capsys.readouterr().out
    assert "-> x.vot (catalogue)" in out and "-> x.crtf (regions)" in out
    product = read_products(tmp_path / "field_i2i.fits").catalog
    table = parse("x.vot").get_first_table()
    assert [field.name for field in table.fields] == product.colnames and len(table.array) == len(product)
    for vo_field in table.fields:
        assert vo_field.ucd == COLUMN_META[vo_field.name][2] and vo_field.description, vo_field.name
    shapes = Regions.read("x.crtf")
    assert len(shapes) == len(product)
    label = "name" if "name" in product.colnames else "id"
    assert [str(s.meta["label"]).split()[0] for s in shapes] == [str(v).split()[0] for v in product[label]]
    # The catalogue from the product again, by -o's extension; --format that disagrees is refused.
    assert _run(["catalog", "field_i2i.fits", "-o", "again.fits"]) == 0
    assert Table.read("again.fits").colnames == product.colnames
    assert _run(["catalog", "field_i2i.fits", "-o", "again.ecsv", "--format", "fits"]) == 2
    assert "--format" in capsys.readouterr().err and not (tmp_path / "again.ecsv").exists()


def test_cli_refuses_bad_names_before_any_work(small_model, field, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other.fits"
    other.write_bytes(field.read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    model = ["--model", small_model, "-k", "2", "--no-progress"]
    for args, words in ((["--catalog", "x.txt"], ["--catalog", "x.txt", ".vot"]),
                        (["--regions", "x.png"], ["--regions", "x.png", ".crtf"]),
                        (["--catalog", "same.vot", "--regions", "same.vot"], ["same.vot", "--catalog", "--regions"]),
                        (["--catalog", "c.vot", "-o", "out/", other], ["--catalog", "one input"])):  # fmt: skip
        assert _run(["reconstruct", field, *model, *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err
        for word in words:
            assert word in err[0], (word, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, args


def test_cli_cube_catalog_is_its_sources_and_regions_its_detections(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    from astropy.io.votable import parse
    from regions import Regions

    from .conftest import write_cube

    monkeypatch.chdir(tmp_path)
    cube = write_cube(tmp_path / "cube.fits")
    fits.setval(cube, "RESTFRQ", value=230.538e9)  # CO(2-1): the channels convert to velocities
    assert _run(["reconstruct", cube, "-k", "2", "--no-progress", "--catalog", "s.vot", "--regions", "d.reg"]) == 0
    assert "-> s.vot (catalogue)" in capsys.readouterr().out
    with fits.open("cube_i2i.fits") as hdulist:
        detections = QTable.read(hdulist["CATALOG"])
        sources = QTable.read(hdulist["CATALOG_SOURCES"])
        header = hdulist["CATALOG_SOURCES"].header
        n = sources.colnames.index("flux_integrated") + 1
        assert header[f"TUNIT{n}"] == "Jy km s-1" and "radio convention" in header[f"TCOMM{n}"]
        link = detections.colnames.index("source_id") + 1
        assert hdulist["CATALOG"].header[f"TUCD{link}"] == "meta.id.parent"
    assert set(detections["source_id"]) == set(sources["id"])
    table = parse("s.vot").get_first_table()
    assert [f.name for f in table.fields] == sources.colnames and len(table.array) == len(sources)
    assert {f.name: f.unit for f in table.fields}["flux_integrated"] == u.Jy * u.km / u.s
    shapes = Regions.read("d.reg")
    assert len(shapes) == len(detections) and all(" ch" in s.meta["text"] and "src" in s.meta["text"] for s in shapes)
    if shutil.which("fitsverify"):
        report = subprocess.run(["fitsverify", "cube_i2i.fits"], check=False, capture_output=True, text=True)
        assert "0 warning(s) and 0 error(s)" in report.stdout, report.stdout


@pytest.mark.skipif(not all(shutil.which(tool) for tool in ("ds9", "Xvfb", "xpaset", "xpaget", "import")),
                    reason="needs DS9, Xvfb, xpa-tools and ImageMagick (CI installs them on Debian)")  # fmt: skip
def test_ds9_loads_the_region_file_over_the_image(tmp_path):
    """DS9 itself, under Xvfb, reads every ellipse of a region file back (examples/ds9_overlay.sh: the docs'
    screenshot), over the tutorial's image."""
    from pathlib import Path

    from radio_beam import Beam

    from astro_i2i.data import example_path

    regions = tmp_path / "field.reg"
    catalog = _posterior_like(3)
    catalog["ra"] = [150.3515, 150.3505, 150.3540] * u.deg
    catalog["dec"] = [2.05097, 2.04916, 2.04920] * u.deg
    write_regions(catalog, regions, beam=Beam(0.89 * u.arcsec, 0.82 * u.arcsec, 83 * u.deg))
    script = Path(__file__).resolve().parents[1] / "examples" / "ds9_overlay.sh"
    if not script.exists():
        pytest.skip("not a checkout: no examples/ds9_overlay.sh")
    done = subprocess.run(["bash", str(script), str(example_path("casa_image") / "dirty.image.fits"), str(regions),
                           str(tmp_path / "overlay.png")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 ellipses in the file, 3 loaded by DS9" in done.stdout
    assert (tmp_path / "overlay.png").read_bytes()[:4] == b"\x89PNG"
