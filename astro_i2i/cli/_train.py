"""``astro-i2i train``."""

import sys
from pathlib import Path

import click

from ._common import CONTEXT_SETTINGS, overwrite_option


def config_path(name_or_path):
    """A shipped training config by name (``two_to_one``, ``mse``, ``*_gpu``) or a YAML path."""
    from ..data import list_training_configs, training_config_path
    from ..exceptions import InputError

    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    shipped = training_config_path(name_or_path)
    if not shipped.exists():
        raise InputError(name_or_path, f"no such file or shipped config; shipped: {', '.join(list_training_configs())}")
    return shipped


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("config")
@click.option("-o", "--output", required=True, metavar="MODEL.pt", help="Checkpoint to write (the best model).")
@click.option("--resume", is_flag=True, help="Continue from MODEL.pt.state.pt.")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1, ...")
@overwrite_option
def train(config, output, resume, device, overwrite):
    """Train a model from a YAML CONFIG (a path, or a shipped name: two_to_one, mse, two_to_one_gpu, mse_gpu)."""
    import torch

    from ..exceptions import InputError
    from ..training import TrainingConfig
    from ..training import train as run_training

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device", f"{device!r} asked for, but torch sees no GPU")
    settings = TrainingConfig.from_yaml(config_path(config))
    best = run_training(settings, output, resume=resume, device=device, overwrite=overwrite,
                        progress=sys.stderr.isatty())  # fmt: skip
    click.echo(f"best validation F1 {100 * best['f1']:.2f} at step {best.get('step')} -> {output}")


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("model", metavar="MODEL.pt")
@click.option("-o", "--output", required=True, metavar="OUT.pt",
              help="Calibrated checkpoint to write (MODEL.pt itself with --overwrite).")
@click.option("--n-images", type=click.IntRange(min=4), help="Calibration images to simulate (default 600).")
@click.option("--seed", type=int,
              help="Their seed (default 1500000; keep it apart from training, validation and test seeds).")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1, ...")
@overwrite_option
def calibrate(model, output, n_images, seed, device, overwrite):
    """Calibrate MODEL.pt's catalogue reliability, fluxes and uncertainty map on freshly simulated images.

    ``astro-i2i train`` runs this at the end of every run; use it on a
    checkpoint whose thresholds were chosen on fewer images.
    """
    from ..training import calibrate_checkpoint

    given = {name: value for name, value in (("n_images", n_images), ("seed", seed)) if value is not None}
    result = calibrate_checkpoint(model, output, device=device, overwrite=overwrite, **given)
    for key in ("direct", "samples"):
        if key in result:
            figures = result[key]
            mode = "direct" if figures["samples"] == 1 else f"K = {figures['samples']}"
            click.echo(f"{mode}: F1 {100 * figures['f1']:.2f} (P {100 * figures['purity']:.1f}, "
                       f"C {100 * figures['completeness']:.1f}) at reliability >= {figures['min_reliability']:.2f}, "
                       f"flux_err scale {figures['flux_err_scale']:.3g}")  # fmt: skip
            if "default_min_reliability" in figures:
                positions = figures.get("positions") or {}
                click.echo(f"  default cut: reliability >= {figures['default_min_reliability']:.2f} (F1 "
                           f"{100 * figures['f1_default']:.2f} with a true source within "
                           f"{result['reliability_radius_arcsec']:.2f}\"); real sources' positions within 1.96 "
                           f"ra_err / dec_err: {100 * positions.get('coverage_ra', float('nan')):.1f} / "
                           f"{100 * positions.get('coverage_dec', float('nan')):.1f} %")  # fmt: skip
    if "uncertainty" in result:
        coverage = result["uncertainty"]["coverage"]
        click.echo(f"uncertainty map: coverage {100 * coverage['source']:.1f} % on source pixels, "
                   f"{100 * coverage['disc']:.1f} % over the disc")  # fmt: skip
    click.echo(f"-> {output}")
