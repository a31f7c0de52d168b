"""``astro-i2i adapt`` and ``astro-i2i tune``."""

import sys

import click

from ._common import CONTEXT_SETTINGS, hdu_option, overwrite_option


def _pair(text, unit, name):
    """``'LOW,HIGH'`` -> two Quantities in ``unit``."""
    from astropy import units as u

    from ..exceptions import InputError

    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(name, f"{text!r} is not two numbers 'LOW,HIGH'") from None
    return low * u.Unit(unit), high * u.Unit(unit)


def _found_beside(dirty, *, psf, pb, psf_wanted):
    """``(psf, pb)``: those given, else tclean's ``X.psf`` / ``X.pb`` beside DIRTY (the adapted model records which).

    The PSF is looked for only where none is given and ``--array`` does not ask for one to be computed.
    """
    import logging

    from ..io import find_primary_beam, find_psf

    logger = logging.getLogger("astro_i2i.cli")
    if psf_wanted and (found := find_psf(dirty)) is not None:
        logger.info("%s: PSF %s (found beside it)", dirty, found)
        psf = str(found)
    if pb is None and (found := find_primary_beam(dirty)) is not None:
        logger.info("%s: primary beam %s (found beside it)", dirty, found)
        pb = str(found)
    return psf, pb


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("dirty")
@click.option("--psf", default=None, metavar="PSF",
              help="The PSF imaged with DIRTY (tclean's .psf, as a directory or FITS; WSClean's -psf.fits): same "
                   "grid, peak 1. Default: X.psf[.fits[.gz]] beside X.image[.fits] or X.pbcor.fits.")
@click.option("--pb", default=None, metavar="PB",
              help="Its primary beam (CASA's .pb); default: X.pb[.fits[.gz]] beside DIRTY, else a 12-m dish at "
                   "DIRTY's frequency.")
@click.option("-o", "--output", required=True, metavar="MODEL.pt", help="Adapted checkpoint to write.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=15, show_default=True,
              help="Wall time of the whole command, calibration included (fewer calibration images if needed).")
@click.option("--from", "base", default="two_to_one", show_default=True, metavar="NAME|PATH",
              help="Model to start from: a shipped name or a checkpoint.")
@click.option("--array", default=None, metavar="CFG",
              help="Without --psf: antenna list (shipped name such as alma.cycle5.4, or a CASA .cfg) for the PSF.")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Without --psf: hours on source, centred on transit (default 1/3).")
@click.option("--noise-texture", type=click.Choice(["psf", "image"]), default="psf", show_default=True,
              help="Noise correlated like the PSF (natural weighting), or measured from DIRTY (robust, uniform).")
@click.option("--flux-range", default=None, metavar="LOW,HIGH",
              help="Integrated fluxes of the simulated sources, mJy (default the model's population scaled to "
                   "DIRTY's noise: 1.09-10.9 x it for the shipped model).")
@click.option("--size-range", default=None, metavar="LOW,HIGH",
              help="Their FWHM, arcsec (default the model's scaled to the beam: 0.47-0.94 x it for the shipped "
                   "model).")
@click.option("--source-radius", type=click.FloatRange(min=0, min_open=True), default=None, metavar="ARCSEC",
              help="Simulated sources lie within this radius of the centre (default: the primary beam's half-power "
                   "radius; give the imaged disc's radius if sources may lie anywhere).")
@click.option("--calibration-images", type=click.IntRange(min=4), default=300, show_default=True,
              help="For a model never calibrated (--from a new checkpoint): fresh simulated images it is calibrated "
                   "on. A calibrated model is tuned instead.")
@hdu_option
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1, ...")
@click.option("--force", is_flag=True,
              help="Write the adapted model even if it scores below the model it started from, tuned to the set-up.")
@overwrite_option
def adapt(dirty, psf, pb, output, minutes, base, array, hours, noise_texture, flux_range, size_range,
          source_radius, calibration_images, hdu, device, force, overwrite):  # fmt: skip
    """Adapt a model to the observation of DIRTY: its PSF, primary beam, pixel grid and noise.

    Tunes the model to this set-up (as reconstruct would), fine-tunes it on
    simulated pairs of the set-up, tunes the fine-tuned network on the same
    simulated images, and writes whichever of the two scores better as
    MODEL.pt; --minutes bounds it all. Then:
    astro-i2i reconstruct IMAGE --model MODEL.pt
    """
    from astropy import units as u

    from .._atomic import check_output_path
    from ..training import adapt as run_adapt
    from ._common import parse_hdu

    check_output_path(output, overwrite=overwrite)
    psf, pb = _found_beside(dirty, psf=psf, pb=pb, psf_wanted=psf is None and array is None)
    best = run_adapt(dirty, output, psf=psf, primary_beam=pb, minutes=minutes, base=base, array=array,
                     duration=None if hours is None else hours * u.hour, noise_texture=noise_texture,
                     flux_range=_pair(flux_range, "mJy", "--flux-range"),
                     size_range=_pair(size_range, "arcsec", "--size-range"),
                     source_radius=None if source_radius is None else source_radius * u.arcsec,
                     calibration_images=calibration_images,
                     hdu=parse_hdu(hdu), device=device, overwrite=overwrite, force=force,
                     progress=sys.stderr.isatty())  # fmt: skip
    record = best.get("adapt")
    if record is None:  # a model never calibrated: fine-tuned and calibrated
        click.echo(f"best validation F1 {100 * best['f1']:.2f} at step {best.get('step')} -> {output}")
    elif record["kept"] == "adapted":
        click.echo(f"adapted model kept: F1 {100 * record['f1_adapted']:.1f} against {100 * record['f1_base']:.1f} "
                   f"for {base} tuned to the set-up, on {record['images']} simulated images -> {output}")
    else:
        click.echo(f"the adapted model did not beat {base} tuned to the set-up (F1 {100 * record['f1_adapted']:.1f} "
                   f"against {100 * record['f1_base']:.1f} on {record['images']} simulated images): {output} "
                   f"holds {base}, tuned (--force writes the adapted one)")
    click.echo(f"use it: astro-i2i reconstruct IMAGE --model {output}; describe it: astro-i2i info {output}")


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("dirty")
@click.option("-o", "--output", required=True, metavar="MODEL.pt", help="Tuned checkpoint to write.")
@click.option("--array", default=None, metavar="CFG",
              help="Antenna list of the observation (alma.cycle5.8, or a .cfg): the set-up is simulated exactly; "
                   "'auto': the ALMA configuration whose beam is nearest the image's.")
@click.option("--psf", default=None, metavar="PSF", help="Or its PSF (tclean's .psf): the set-up through the PSF.")
@click.option("--pb", default=None, metavar="PB", help="Primary-beam image; default the antenna's Airy pattern.")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --array: hours on source, centred on transit (default 1/3).")
@click.option("--weighting", type=click.Choice(["natural", "briggs", "uniform"]), default=None,
              help="With --array: the imaging weights (default natural).")
@click.option("--robust", type=click.FloatRange(-2, 2), default=None, help="With --weighting briggs.")
@click.option("--source-density", type=click.FloatRange(min=0, min_open=True), default=None, metavar="N",
              help="Sources per arcmin^2 (reconstruct with the same --source-density).")
@click.option("--samples", "-k", type=click.IntRange(min=1), default=None, help="K to tune (default the model's).")
@click.option("--images", type=click.IntRange(min=4), default=40, show_default=True,
              help="Simulated images, at least (more, up to 5x, while they hold fewer than --min-candidates or "
                   "--min-real, or fewer than 40 matched sources for flux_err's scale).")
@click.option("--min-candidates", type=click.IntRange(min=0), default=600, show_default=True,
              help="Candidates the simulated images should hold (0: none added for this).")
@click.option("--min-real", type=click.IntRange(min=0), default=None,
              help="Real candidates they should hold, for the reliability map (default 300; 0: none added for "
                   "this).")
@click.option("--model", "base", default="two_to_one", show_default=True, metavar="NAME|PATH",
              help="Model to tune (a shipped name or a .pt).")
@overwrite_option
def tune(dirty, output, array, psf, pb, hours, weighting, robust, source_density, samples, images, min_candidates,
         min_real, base, overwrite):  # fmt: skip
    """Calibrate a model's catalogue on simulated images of DIRTY's set-up, and write it as MODEL.pt.

    The network is unchanged: its reliability is mapped onto the fraction of real
    candidates, and its cuts chosen, on simulated images of this set-up (1-4
    minutes on 2 cores). Then, for every image of the set-up (many at once, too):
    astro-i2i reconstruct IMAGE... --model MODEL.pt
    """
    from astropy import units as u

    from .._atomic import check_output_path
    from ..exceptions import InputError
    from ..reconstruct import Reconstructor
    from ..training import tune_to_setup, write_tuned

    check_output_path(output, overwrite=overwrite)
    if (array is None) == (psf is None):
        raise InputError("--array", "give the observation's antenna list (--array) or its PSF (--psf), one of them")
    if psf is not None and (weighting or robust is not None or hours):
        raise InputError("--psf", "--weighting, --robust and --hours describe an --array observation; a PSF "
                                  "carries them")  # fmt: skip
    tuned = tune_to_setup(Reconstructor.from_pretrained(base), dirty, psf=psf, primary_beam=pb, array=array,
                          duration=None if hours is None else hours * u.hour, weighting=weighting, robust=robust,
                          source_density=source_density, samples=samples, n_images=images,
                          min_candidates=min_candidates, min_real=min_real,
                          progress=sys.stderr.isatty())  # fmt: skip
    write_tuned(tuned, output, overwrite=overwrite)
    record = tuned.tuning
    click.echo(f"tuned on {record['n_images']} simulated images in {record['seconds']:.0f} s: cuts "
               f"{record['min_reliability']:.2f} (half a beam) and {record['benchmark_min_reliability']:.2f} "
               f"(0.21 beam), flux_err x {record['flux_err_scale']:.2f} ({record['flux_matches']} sources), "
               f"UNCERTAINTY x {record['uncertainty_scale']:.2f}, prior {record['prior_density']:.3g} sources per "
               f"arcmin^2 -> {output}")  # fmt: skip
    click.echo(f"use it: astro-i2i reconstruct IMAGE --model {output}")
