"""``astro-i2i simulate``."""

import sys

import click

from ._common import CONTEXT_SETTINGS, overwrite_option


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("outdir")
@click.option("--n", "n_images", type=int, default=10, show_default=True, help="Number of images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed gives the same files.")
@click.option("--config", "config_path", default=None, metavar="FILE", help="YAML simulation config, or a shipped population by name (fields: half the fields with a bright target); default: the method's dataset.")
@click.option("--show-config", is_flag=True, help="Print the effective config as YAML and exit.")
@overwrite_option
def simulate(outdir, n_images, seed, config_path, show_config, overwrite):
    """Simulate ALMA dirty images, sky models, PSFs and a truth table into OUTDIR."""
    from ..simulate import SimulationConfig, write_dataset

    config = SimulationConfig.from_yaml(config_path) if config_path else SimulationConfig()
    if show_config:
        click.echo(config.to_yaml(), nl=False)
        return
    truth = write_dataset(outdir, n_images, seed=seed, config=config, overwrite=overwrite,
                          progress=sys.stderr.isatty())  # fmt: skip
    click.echo(f"wrote {n_images} images with {len(truth)} sources to {outdir}")
