"""Pieces shared by the commands: options, logging set-up."""

import logging
import sys
import warnings

import click

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Formatter(logging.Formatter):
    def format(self, record):
        return f"{record.levelname.lower()}: {record.getMessage()}"


def configure_logging(level):
    """Send the library's log records to stderr (only the CLI does this)."""
    logger = logging.getLogger("astro_i2i")
    logger.setLevel(level.upper())
    for handler in list(logger.handlers):
        if getattr(handler, "_astro_i2i", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter())
    handler._astro_i2i = True
    logger.addHandler(handler)
    logger.propagate = False
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line on stderr, like the log records (no source line)."""
    print(f"warning: {message}", file=sys.stderr)


def parse_hdu(value):
    """``--hdu`` takes an index or an EXTNAME."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else value


def overwrite_option(function):
    """``--overwrite`` on a command; the group's ``--overwrite`` also counts."""

    def callback(ctx, param, value):
        root = ctx.find_root()
        return bool(value or (root.obj or {}).get("overwrite"))

    return click.option(
        "--overwrite", is_flag=True, callback=callback, help="Replace existing output files."
    )(function)


def hdu_option(function):
    return click.option("--hdu", default=None, metavar="N|NAME", help="HDU to read (index or EXTNAME).")(function)


def psf_option(function):
    return click.option(
        "--psf", default=None, metavar="PSF",
        help="PSF image (tclean's .psf, as a directory or FITS); its main lobe is fitted for the beam. reconstruct "
             "also CLEANs bright emission with it; there the default is X.psf[.fits[.gz]] beside X.image[.fits] or "
             "X.pbcor.fits (not for the beam: the header's is kept).",
    )(function)


def beam_option(function):
    return click.option(
        "--beam", default=None, metavar="BMAJ,BMIN,BPA",
        help="Beam: three values in arcsec, arcsec, deg, or with units (overrides the header).",
    )(function)
