"""``astro-i2i info`` and ``astro-i2i example``."""

import logging
import warnings
from pathlib import Path

import click

from ._common import CONTEXT_SETTINGS, beam_option, hdu_option, parse_hdu, psf_option

#: BUNIT values of a sky model (Jy/pixel), lower case, blanks collapsed.
_SKY_MODEL_UNITS = ("jy/pixel", "jy/pix", "jy pixel-1", "jy pix-1", "mjy/pixel")


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file")
@hdu_option
@psf_option
@beam_option
def info(file, hdu, psf, beam):
    """Describe FILE: a dirty image or cube, a product file of ``reconstruct``, a sky model, a PSF, a primary beam,
    or a model checkpoint (.pt)."""
    if file.endswith(".pt"):
        from ..models import load_checkpoint
        from ..models.checkpoint import checkpoint_summary

        _, card = load_checkpoint(file)
        for line in checkpoint_summary(card, file):
            click.echo(line)
        return
    for line in describe(file, hdu=parse_hdu(hdu), psf=psf, beam=beam):
        click.echo(line)


def _extension_names(path):
    """The HDU names of a FITS file, or () when it cannot be opened (the reader then says why)."""
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdulist:
                return tuple(h.name for h in hdulist)
    except Exception:  # noqa: BLE001 - read_hdu gives the proper one-line error
        return ()


class _Held(logging.Handler):
    """Holds the reader's log records, to be re-emitted only if the file turns out to be a dirty image."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def describe(file, *, hdu=None, psf=None, beam=None):
    """Lines describing ``file`` for what it is (product, sky model, PSF, primary beam, cube or dirty image)."""
    from ..io import cube_summary, image_summary, is_cube, read_cube, read_image, read_sky_image

    if hdu is None and Path(file).is_file() and "SKY" in _extension_names(file):
        return _product_lines(file)
    if is_cube(file, hdu=hdu):  # quiet on a damaged file: reading it then says what is wrong
        return cube_summary(read_cube(file, hdu=hdu))
    from ..io import read_hdu

    _, header, _, _ = read_hdu(file, hdu=hdu)
    bunit = " ".join(str(header.get("BUNIT", "")).strip().lower().split())
    if bunit in _SKY_MODEL_UNITS and psf is None:
        return _sky_model_lines(read_sky_image(file, hdu=hdu, beam=beam))
    if bunit or psf is not None or beam is not None:
        return image_summary(read_image(file, hdu=hdu, psf=psf, beam=beam))
    # No BUNIT: tclean's .psf or .pb, or a dirty image without its unit (then as today, with the warning).
    reader = logging.getLogger("astro_i2i.io")
    held = _Held()
    reader.addHandler(held)
    propagate, reader.propagate = reader.propagate, False
    try:
        image = read_image(file, hdu=hdu)
    finally:
        reader.removeHandler(held)
        reader.propagate = propagate
    kind = _unitless_kind(image)
    if kind == "psf":
        return _psf_lines(image)
    if kind == "pb":
        return _primary_beam_lines(image)
    for record in held.records:
        logging.getLogger(record.name).handle(record)
    return image_summary(image)


def _unitless_kind(image):
    """'psf' or 'pb' for a unitless image peaking at 1 at its reference pixel (as ``reconstruct`` tells), else None."""
    from ..io import unitless_image_kind

    return unitless_image_kind(image)


def _grid_lines(image, what):
    from astropy import units as u

    ny, nx = image.data.shape[-2:]
    hdu = "" if image.hdu_index is None else f" [HDU {image.hdu_index}]"
    return [
        f"file:        {image.name}{hdu}",
        f"kind:        {what}",
        f"shape:       {nx} x {ny} pixels",
        f"pixel scale: {image.pixel_scale.to_value(u.arcsec):.4g} arcsec",
    ]


def _peak(image):
    import numpy as np

    iy, ix = np.unravel_index(int(np.nanargmax(image.data)), image.data.shape)
    return float(image.data[iy, ix]), int(ix), int(iy)


def _psf_lines(image):
    from astropy import units as u

    from ..io import fit_psf_beam

    peak, ix, iy = _peak(image)
    try:
        fitted = fit_psf_beam(image.data, image.wcs)
        lobe = (f"{fitted.major.to_value(u.arcsec):.3f}\" x {fitted.minor.to_value(u.arcsec):.3f}\", "
                f"PA {fitted.pa.to_value(u.deg):.1f} deg (Gaussian fit to the main lobe)")  # fmt: skip
    except ValueError as exc:
        lobe = f"cannot fit ({exc})"
    return _grid_lines(image, "PSF (no BUNIT, peak 1 at the reference pixel)") + [
        f"main lobe:   {lobe}",
        f"peak:        {peak:.4g} at 0-based pixel ({ix}, {iy})",
        f"sidelobes:   down to {float(image.data[image.data == image.data].min()):.3g}",
    ]


def _primary_beam_lines(image):
    import numpy as np
    from astropy import units as u

    peak, ix, iy = _peak(image)
    scale = image.pixel_scale.to_value(u.arcsec)
    ny, nx = image.data.shape
    yy, xx = np.mgrid[:ny, :nx]
    top_y, top_x = np.nonzero(np.nan_to_num(image.data) >= 0.99 * peak)  # the flat top's centre
    radius = np.hypot(xx - top_x.mean(), yy - top_y.mean())
    values = np.nan_to_num(image.data, nan=0.0)

    def fall(level):
        below = radius[values < level * peak]
        return "beyond the map" if not below.size else f"{below.min() * scale:.3g}\""

    return _grid_lines(image, "primary beam (no BUNIT, peak 1, no negative pixel)") + [
        f"peak:        {peak:.4g} at 0-based pixel ({ix}, {iy})",
        f"radius:      {fall(0.5)} at 0.5 of the peak, {fall(0.2)} at 0.2",
        f"blanked:     {100 * image.blank_fraction:.1f} % of pixels",
    ]


def _sky_model_lines(image):
    import numpy as np

    total = float(np.nansum(image.data))
    unit = image.original_unit or "Jy/pixel"
    return _grid_lines(image, "sky model") + [
        f"unit:        {unit}",
        f"total flux:  {1e3 * total:.4g} mJy",
        f"peak:        {1e3 * float(np.nanmax(image.data)):.4g} mJy/pixel",
    ]


def _product_lines(file):
    import numpy as np

    from ..io import read_products

    products = read_products(file)
    prov = products.provenance
    extensions = [f"SKY {' x '.join(str(n) for n in products.sky.shape[::-1])}"]
    if products.uncertainty is not None:
        extensions.append("UNCERTAINTY")
    if products.style is not None:
        extensions.append(f"STYLE {' x '.join(str(n) for n in products.style.shape[::-1])}")
    if products.catalog is not None:
        extensions.append(f"CATALOG {len(products.catalog)} rows")
    checksum = prov.get("model_checksum")
    model = prov.get("model", "unknown") + (f" (sha256 {checksum[:12]})" if checksum else "")
    sources = "no catalogue" if products.catalog is None else f"{len(products.catalog)}"
    if products.catalog is not None and "min_reliability" in prov:
        sources += f" (reliability >= {prov['min_reliability']:.2f})"
    lines = [
        f"file:        {file}",
        f"kind:        astro-i2i product (astro-i2i {prov.get('version') or '?'})",
        f"extensions:  {', '.join(extensions)}",
        f"model:       {model}",
        f"samples:     {prov.get('samples', '?')}, seed {prov.get('seed', '?')}"
        + (f", {prov['steps']} steps" if "steps" in prov else ""),
        f"sources:     {sources}",
        f"input:       {prov.get('input', 'unknown')}",
        f"sky:         total {1e3 * float(np.nansum(products.sky)):.4g} mJy (Jy/pixel)",
    ]
    return lines


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("name", required=False, default="dirty")
@click.option("--list", "list_names", is_flag=True, help="List the examples that ship with the package.")
def example(name, list_names):
    """Print the path of an example file that ships with astro-i2i (default: dirty)."""
    from ..data import example_path, list_examples

    if list_names:
        for entry, description in list_examples().items():
            click.echo(f"{entry:10s} {description}")
        return
    click.echo(str(example_path(name)))
