"""``astro-i2i info`` and ``astro-i2i example``."""

import click

from ._common import CONTEXT_SETTINGS, beam_option, hdu_option, parse_hdu, psf_option, quiet_is_cube


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file")
@hdu_option
@psf_option
@beam_option
def info(file, hdu, psf, beam):
    """Print what astro-i2i understands of a dirty image or cube FILE, or describe a model checkpoint FILE (.pt)."""
    from ..io import image_summary, read_image

    if file.endswith(".pt"):
        from ..models import load_checkpoint
        from ..models.checkpoint import checkpoint_summary

        _, checkpoint = load_checkpoint(file)
        for line in checkpoint_summary(checkpoint, file):
            click.echo(line)
        return
    from ..io import cube_summary, read_cube

    if quiet_is_cube(file, hdu=parse_hdu(hdu)):
        for line in cube_summary(read_cube(file, hdu=parse_hdu(hdu))):
            click.echo(line)
        return

    image = read_image(file, hdu=parse_hdu(hdu), psf=psf, beam=beam)
    for line in image_summary(image):
        click.echo(line)


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
