"""``astro-i2i catalog`` and ``astro-i2i evaluate``."""

import json
import math
import re
import warnings
from pathlib import Path

import click

from ..exceptions import AstroI2IWarning, InputError
from ._common import CONTEXT_SETTINGS, beam_option, hdu_option, overwrite_option, parse_hdu

#: ``--format`` -> the extension of the default output name (the extension names the format: `write_catalog`).
_FORMATS = {"ecsv": "ecsv", "fits": "fits", "votable": "vot", "csv": "csv"}


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("image")
@click.option("-o", "--output", default=None, metavar="CAT",
              help="Output catalogue; its extension names the format: .fits, .vot/.xml (VOTable), .ecsv, .csv "
                   "(default: IMAGE stem + '_cat.<format>').")  # fmt: skip
@hdu_option
@click.option("--format", "table_format", type=click.Choice(sorted(_FORMATS)), default="ecsv", show_default=True,
              help="Format of the default output name (without -o; with -o, its extension decides).")
@click.option("--regions", default=None, metavar="REG",
              help="Also write a region file of the sources: .reg (DS9, CARTA) or .crtf (CASA, CARTA).")
@click.option("--nsigma", type=float, default=5.0, show_default=True, help="Detection threshold in noise sigma.")
@beam_option
@overwrite_option
def catalog(image, output, hdu, table_format, regions, nsigma, beam, overwrite):
    """Find and measure the sources in IMAGE (a sky model, a product file or a restored image).

    A product file of 'astro-i2i reconstruct' already holds its catalogue
    (CATALOG; a cube product's sources merged across channels,
    CATALOG_SOURCES): it is written out, not measured again.
    """
    from .._atomic import check_output_paths
    from ..catalog import find_sources
    from ..io import read_hdu, read_sky_image

    ctx = click.get_current_context()
    if output and ctx.get_parameter_source("table_format") is click.core.ParameterSource.COMMANDLINE:
        derived = _catalog_kind("-o", output)
        if derived != table_format:
            raise InputError("--format", f"{table_format} disagrees with -o {output}, whose extension names the "
                                         f"format ({derived}): give one of them")  # fmt: skip
    output = Path(output) if output else Path(_stem(image) + f"_cat.{_FORMATS[table_format]}")
    check_output_paths({"-o": output, "--regions": regions}, inputs={"IMAGE": image}, overwrite=overwrite)
    check_file_kinds(catalog=("-o", output), regions=("--regions", regions))
    product = _product_catalog(image, parse_hdu(hdu))
    if product is not None:
        table, detections, product_beam = product
        for name, flag in (("nsigma", "--nsigma"), ("beam", "--beam")):
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
                raise InputError(flag, f"does not apply to a product file ({image}): its CATALOG was selected by "
                                       "reliability when it was made (astro-i2i reconstruct --min-reliability "
                                       "changes the selection)")  # fmt: skip
        write_files(table, output, regions, overwrite, regions_table=detections, beam=product_beam)
        what = "CATALOG_SOURCES" if detections is not table else "CATALOG"
        click.echo(f"{len(table)} sources (the product's {what}: {table.meta.get('thresh', 'as written')}) "
                   f"-> {output}")  # fmt: skip
        return
    sky = read_sky_image(image, hdu=parse_hdu(hdu), beam=beam)
    unit = "Jy/pixel" if sky.unit.to_string() == "Jy / pix" else "Jy/beam"
    if unit == "Jy/beam" and sky.beam is None:
        raise InputError(image, "is in Jy/beam but has no beam; give --beam BMAJ,BMIN,BPA to measure fluxes")
    uncertainty = None
    if sky.hdu_index is not None and parse_hdu(hdu) in (None, "SKY", 0):
        try:
            uncertainty = read_hdu(image, hdu="UNCERTAINTY")[0]
        except InputError:
            uncertainty = None
    table = find_sources(sky.data, sky.wcs, unit=unit, beam=sky.beam, uncertainty=uncertainty, nsigma=nsigma)
    table.meta["image"] = str(image)
    write_files(table, output, regions, overwrite, beam=sky.beam)
    click.echo(f"{len(table)} sources ({table.meta['thresh']}) -> {output}")


def _catalog_kind(flag, path):
    from ..catalog import catalog_format

    try:
        return catalog_format(path)
    except ValueError:
        raise InputError(flag, f"{path}: a catalogue file's extension names its format: .fits, .vot or .xml "
                               "(VOTable), .ecsv or .csv") from None  # fmt: skip


def _regions_kind(flag, path):
    from ..catalog import regions_format

    try:
        return regions_format(path)
    except ValueError:
        raise InputError(flag, f"{path}: a region file is .reg (DS9) or .crtf (CASA); CARTA reads both") from None


def check_file_kinds(*, catalog=(None, None), regions=(None, None)):
    """One-line errors (before any work) for a catalogue or region file name whose extension names no format.

    Parameters
    ----------
    catalog, regions : tuple
        ``(flag, path)``; a None path is not checked.
    """
    if catalog[1]:
        _catalog_kind(*catalog)
    if regions[1]:
        _regions_kind(*regions)


def write_files(table, output, regions, overwrite, *, regions_table=None, beam=None):
    """The catalogue (`write_catalog`) and its regions (`write_regions`), all or nothing; returns the paths written.

    ``regions_table``: what the regions show when it is not ``table`` (a cube's detections per channel); ``beam``:
    the size of a source without its own.
    """
    from ..catalog import write_catalog, write_regions

    written = []
    try:
        if output:
            written.append(write_catalog(table, output, overwrite=overwrite))
        if regions:
            written.append(write_regions(table if regions_table is None else regions_table, regions, beam=beam,
                                         overwrite=overwrite))  # fmt: skip
    except BaseException:
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise
    return written


#: Keywords of a product's CATALOG header that are the table's own ``meta`` (lower case, as
#: `~astro_i2i.catalog.posterior_catalog` writes them); the rest is the product's provenance, kept as it is.
_CATALOG_META = ("NOISE", "UNIT", "FRAME", "MINREL", "THRESH", "CANDIDAT", "MERGE")
#: Header keywords that describe the FITS extension, not the catalogue.
_FITS_ONLY = ("EXTNAME", "LONGSTRN")


def _product_catalog(image, hdu):
    """``(catalogue, regions table, beam)`` of an astro-i2i product file; None for any other file.

    The catalogue is the CATALOG (a cube product's CATALOG_SOURCES, its sources merged across channels; the
    regions are then its CATALOG's detections, each in its channel), with its ``meta`` as written and its
    columns' descriptions and UCDs; the beam is the SKY header's (None without one, or for a cube).

    A product's SKY is a sky model whose UNCERTAINTY exceeds it at every real peak, so measuring it again
    (``5 x sqrt(uncertainty^2 + sigma^2)``) keeps only near-empty pixels: its own CATALOG is the catalogue.
    ``hdu`` None, 0, ``'SKY'`` or ``'CATALOG'``: the catalogue; another extension is read as an image.
    """
    from astropy.io import fits
    from astropy.table import QTable

    from ..catalog import columns_from_header

    if hdu not in (None, 0, "SKY", "CATALOG", "CATALOG_SOURCES") or not Path(image).is_file():
        return None
    try:
        with fits.open(image) as hdulist:
            names = [h.name for h in hdulist]
            if "SKY" not in names or not ("I2IVER" in hdulist["SKY"].header or "CATALOG" in names):
                return None
            if "CATALOG" not in names:
                raise InputError(image, "is an astro-i2i product file with no CATALOG extension; its sky model "
                                        "is not catalogued again (its UNCERTAINTY exceeds SKY at every peak): "
                                        "re-run astro-i2i reconstruct, whose product holds the catalogue")  # fmt: skip
            detections = _own_meta(columns_from_header(QTable.read(hdulist["CATALOG"])), image)
            table = detections
            if "CATALOG_SOURCES" in names and hdu != "CATALOG":
                table = _own_meta(columns_from_header(QTable.read(hdulist["CATALOG_SOURCES"])), image)
            beam = None
            if hdulist["SKY"].header.get("NAXIS", 0) == 2 and "BMAJ" in hdulist["SKY"].header:
                from radio_beam import Beam

                try:
                    beam = Beam.from_fits_header(hdulist["SKY"].header)
                except (ValueError, KeyError, TypeError):  # a damaged beam: size-less sources are points
                    beam = None
    except OSError:
        return None  # read_sky_image gives the proper error
    return table, detections, beam


def _own_meta(table, image):
    meta = {}
    for key, value in table.meta.items():
        if key.upper() in _FITS_ONLY:
            continue
        meta[key.lower() if key.upper() in _CATALOG_META else key] = value
    meta["image"] = str(image)
    table.meta = meta
    return table


def _stem(path):
    name = Path(path).name
    for suffix in (".fits.gz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            return str(Path(path).with_name(name[: -len(suffix)]))
    return str(Path(path).with_suffix(""))


_SIMULATED_OBJECT = re.compile(r"^astro-i2i sim (\d+)$")


def _image_index(path, table_meta=None, provenance=None, header=None):
    """The truth-table image of a product or catalogue.

    In this order: the ``OBJECT`` keyword ``astro-i2i simulate`` writes (and
    ``reconstruct`` carries into the product), then the last integer in the
    name of the input (product) or of the catalogued image (catalogue meta) or
    of the catalogue file itself. A product's own name is never used: the
    ``2`` of ``_i2i`` is not an image number.
    """
    match = _SIMULATED_OBJECT.match(str((header or {}).get("OBJECT", "")).strip())
    if match:
        return int(match.group(1))
    if provenance is not None:
        candidates = [provenance.get("input")]
    else:
        candidates = [(table_meta or {}).get("image"), str(path)]
    for candidate in candidates:
        if candidate:
            numbers = re.findall(r"\d+", Path(str(candidate)).name.replace("i2i", ""))
            if numbers:
                return int(numbers[-1])
    raise InputError(path, "cannot tell which truth image it belongs to (no simulated OBJECT keyword, no number in "
                           "its input's name); give --image N")  # fmt: skip


def _load_catalog(path, image_id=None):
    """``(catalogue, truth image)`` of a product or catalogue file; ``image_id`` (``--image``) when given, else
    `_image_index` (which refuses a file it cannot place: a given ``--image`` must not be overruled by that)."""
    from astropy.io import fits
    from astropy.table import QTable

    from ..io import read_products

    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.name.lower().endswith((".fits", ".fits.gz", ".fit")):
        try:
            with fits.open(path) as hdulist:
                names = [h.name for h in hdulist]
        except OSError:
            raise InputError(path, "not a FITS file (or corrupt)") from None
        if "SKY" in names:
            products = read_products(path)
            if products.catalog is None:
                raise InputError(path, "product file has no CATALOG extension")
            index = image_id if image_id is not None else _image_index(path, provenance=products.provenance,
                                                                       header=products.header)  # fmt: skip
            return products.catalog, index
    try:
        table = QTable.read(path)
    except Exception as exc:  # astropy raises many types for unreadable tables
        raise InputError(path, f"cannot read as a table ({type(exc).__name__})") from None
    for column in ("ra", "dec", "flux"):
        if column not in table.colnames:
            raise InputError(path, f"catalogue has no '{column}' column")
    return table, image_id if image_id is not None else _image_index(path, table.meta)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("products", nargs=-1, required=True)
@click.option("--truth", required=True, metavar="TRUTH", help="truth.ecsv written by 'astro-i2i simulate'.")
@click.option("--radius", type=float, default=0.18, show_default=True, help="Matching radius, arcsec.")
@click.option("--json", "json_path", default=None, metavar="FILE", help="Also write the scores as JSON.")
@click.option("--image", "image_id", type=int, default=None, metavar="N",
              help="The truth table's image number of the (single) PRODUCT.")
@overwrite_option
def evaluate(products, truth, radius, json_path, image_id, overwrite):
    """Score the catalogues of PRODUCTS (product files or catalogue files) against the truth."""
    from astropy import units as u
    from astropy.table import Table

    from .._atomic import atomic_output, check_output_path
    from ..metrics import score_catalogs

    if json_path:
        check_output_path(json_path, overwrite=overwrite)
    if not Path(truth).exists():
        raise InputError(truth, "file not found")
    try:
        truth_table = Table.read(truth, format="ascii.ecsv")
    except Exception as exc:
        raise InputError(truth, f"cannot read as an ECSV table ({type(exc).__name__})") from None
    truth_table = _standard_truth(truth_table, truth)
    if radius <= 0:
        raise InputError("--radius", f"must be positive, not {radius!r}")
    if image_id is not None and len(products) != 1:
        raise InputError("--image", f"pairs one product with a truth image; {len(products)} products given")
    detections = {}
    images_in_truth = set(int(i) for i in truth_table["image"])
    for path in products:
        table, index = _load_catalog(path, image_id)
        if index in detections:
            raise InputError(path, f"a second catalogue for image {index}")
        if index not in images_in_truth:
            warnings.warn(f"{path}: image {index} has no rows in {truth} (scored as an empty field)",
                          AstroI2IWarning, stacklevel=2)  # fmt: skip
        detections[index] = table
    if not images_in_truth & set(detections):
        raise InputError(truth, f"none of the {len(detections)} product(s) pairs with an image of the truth table "
                                f"(images {sorted(detections)[:5]}); give --image N")  # fmt: skip
    score = score_catalogs(detections, truth_table, radius=radius * u.arcsec)
    for line in score.summary_lines(len(detections)):
        click.echo(line)
    unscored = images_in_truth - set(detections)
    if unscored:
        click.echo(f"not scored: {len(unscored)} truth image(s) without a product (e.g. {min(unscored)})")
    if json_path:
        with atomic_output(json_path, overwrite=overwrite) as tmp:
            payload = {"n_images": len(detections), "radius_arcsec": radius, **score.as_dict()}
            tmp.write_text(json.dumps(_json_safe(payload), indent=2, allow_nan=False))


#: Truth-table column -> accepted spellings (the first is the package's own).
_TRUTH_COLUMNS = {"image": ("image",), "ra": ("ra", "ra_deg", "RA"), "dec": ("dec", "dec_deg", "DEC", "Dec"),
                  "flux": ("flux", "flux_jy", "Total_flux"), "snr": ("snr",)}  # fmt: skip
_TRUTH_UNITS = {"ra": "deg", "dec": "deg", "flux": "Jy"}


def _standard_truth(table, name):
    """The truth table with the package's column names and plain values (deg, Jy) whatever its spellings."""
    from astropy import units as u
    from astropy.table import Table

    out, missing = Table(), []
    for column, spellings in _TRUTH_COLUMNS.items():
        found = next((spelling for spelling in spellings if spelling in table.colnames), None)
        if found is None:
            missing.append(f"{column} ({' or '.join(spellings)})")
            continue
        values = table[found]
        if column in _TRUTH_UNITS and getattr(values, "unit", None) is not None:
            values = u.Quantity(values).to_value(_TRUTH_UNITS[column])
        elif column == "image":
            values = [int(value) for value in values]
        out[column] = values
    if missing:
        raise InputError(name, f"truth table needs column(s) {', '.join(missing)}; it has {', '.join(table.colnames)}")
    return out


def _json_safe(value):
    """Non-finite floats (an open S/N bin's upper edge, an undefined ratio) as null: JSON has no Infinity or NaN."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
