"""The ``astro-i2i`` command line.

Each command lives in its own module and imports heavy libraries (torch)
inside its function, so ``astro-i2i -h`` stays fast and torch-free. Every
expected failure is printed as one line, ``error: <file>: <what is wrong>``,
with exit status 2.
"""

import logging
import sys

import click

from .._version import __version__
from ..exceptions import InputError
from ._common import CONTEXT_SETTINGS, configure_logging

__all__ = ["cli", "main"]


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="astro-i2i")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="How much the library reports on stderr.",
)
@click.option("--overwrite", is_flag=True, help="Allow every subcommand to replace existing output files.")
@click.pass_context
def cli(ctx, log_level, overwrite):
    """Reconstruct radio sky models from interferometric dirty images."""
    configure_logging(log_level)
    ctx.ensure_object(dict)
    ctx.obj["overwrite"] = overwrite


def _register():
    from . import _adapt, _catalog, _info, _reconstruct, _simulate, _train

    for command in (_reconstruct.reconstruct, _reconstruct.generate, _info.info, _info.example, _simulate.simulate,
                    _catalog.catalog, _catalog.evaluate, _train.train, _train.calibrate, _adapt.adapt,
                    _adapt.tune):  # fmt: skip
        cli.add_command(command)


_register()


#: Library keyword -> command-line flag, for errors about an argument rather than a file.
_FLAGS = {"beam": "--beam", "n": "--n", "seed": "--seed", "psf": "--psf", "samples": "--samples", "steps": "--steps",
          "minutes": "--minutes", "noise_texture": "--noise-texture", "flux_range": "--flux-range",
          "size_range": "--size-range", "source_radius": "--source-radius", "pb_corrected": "--pbcor"}
#: Library keyword arguments quoted inside a message -> the command-line flag.
_KEYWORD_FLAGS = {"--overwrite / overwrite=True": "--overwrite", "--pb / primary_beam=": "--pb",
                  "--hdu / hdu=": "--hdu", "force=True": "--force", "pb_corrected=True": "--pbcor",
                  "primary_beam=": "--pb"}


def cli_flags(text):
    """``text`` with the library's keyword arguments (``force=True``) replaced by the command's flags (``--force``)."""
    for keyword, flag in _KEYWORD_FLAGS.items():
        text = text.replace(keyword, flag)
    return text


def main(argv=None):
    """Entry point of the ``astro-i2i`` console script."""
    try:
        status = cli.main(args=argv, prog_name="astro-i2i", standalone_mode=False)
    except click.exceptions.Exit as exc:
        status = exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        status = 2
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "astro-i2i"
        click.echo(f"error: {where}: {exc.format_message()} (see '{where} -h')", err=True)
        status = 2
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        status = 2
    except InputError as exc:
        # The library names its keyword arguments; the user typed the command's flags.
        source = _FLAGS.get(exc.source, exc.source)
        click.echo(f"error: {source}: {cli_flags(exc.problem)}", err=True)
        status = 2
    except OSError as exc:
        where = exc.filename or "astro-i2i"
        click.echo(f"error: {where}: {exc.strerror or exc}", err=True)
        status = 2
    except (KeyboardInterrupt, click.Abort):
        click.echo("error: interrupted", err=True)
        status = 130
    finally:
        logging.shutdown()
    sys.exit(status if isinstance(status, int) else 0)
