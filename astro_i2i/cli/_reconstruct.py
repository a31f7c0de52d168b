"""``astro-i2i reconstruct`` and ``astro-i2i generate``."""

import contextlib
import logging
import sys
from pathlib import Path

import click

from ._catalog import check_file_kinds, write_files
from ._common import CONTEXT_SETTINGS, beam_option, hdu_option, overwrite_option, parse_hdu, psf_option


def _model_option(function):
    return click.option("--model", default=None, metavar="NAME|PATH",
                        help="Shipped model name or a checkpoint (default: the shipped 2-to-1 model).")(function)  # fmt: skip


def _device_option(function):
    return click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1, ...")(
        function
    )


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("dirty", nargs=-1, required=True)
@click.option("-o", "--output", default=None, metavar="OUT",
              help="Product file (default: DIRTY's stem + '_i2i.fits' in the current directory); with several "
                   "inputs, a directory (OUTDIR/).")
@click.option("--samples", "-k", type=click.IntRange(min=1), default=None,
              help="Samples K for the uncertainty map (default: the model's: 10, DDPM 20); 1 = direct mode.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="DDIM steps per sample of a diffusion model (default: the checkpoint's).")  # fmt: skip
@click.option("--min-reliability", type=click.FloatRange(0, 1), default=None,
              help="Keep sources at least this reliable (default: the model's calibrated best-F1 cut).")
@click.option("--source-density", type=click.FloatRange(min=0, min_open=True), default=None, metavar="N",
              help="Expected sources per arcmin^2 at 1-10x the noise: the reliability's prior (default: the model's "
                   "training population's, 18 per arcmin^2; it matters for a beam unlike the model's).")
@click.option("--pb", default=None, metavar="PB",
              help="Primary-beam image on the same grid (CASA's .pb; for a cube, one plane or one per channel), for "
                   "the fluxes; with several inputs, one for all. Default: X.pb[.fits[.gz]] beside X.image[.fits] "
                   "or X.pbcor.fits, else the model's antenna.")
@click.option("--pbcor", is_flag=True,
              help="DIRTY is primary-beam corrected (.image.pbcor, the ALMA archive's *.pbcor.fits): multiply it by "
                   "--pb (required) first.")
@click.option("--no-clean-bright", is_flag=True,
              help="Do not CLEAN bright emission (peaks above 12 sigma, or 8 sigma smoothed) before the network: "
                   "the network alone, as before 0.2 (it keeps about a tenth of a bright target's flux).")
@_model_option
@psf_option
@beam_option
@hdu_option
@_device_option
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Tiles per network call.")
@click.option("--seed", type=int, default=None, help="Seed of the style samples (default 0: same input, same product).")
@click.option("--quicklook", default=None, metavar="PNG", help="Also write a PNG: dirty, sky, uncertainty, sources.")
@click.option("--catalog", "catalog_file", default=None, metavar="CAT",
              help="Also write the catalogue as its own file: .fits, .vot/.xml (VOTable: CARTA, TOPCAT), .ecsv or .csv "
                   "(a cube's: its sources merged across channels, CATALOG_SOURCES).")
@click.option("--regions", default=None, metavar="REG",
              help="Also write a region file of the sources: .reg (DS9) or .crtf (CASA); CARTA reads both (a cube's: "
                   "each detection, labelled with its channel).")
@click.option("--force", is_flag=True,
              help="Go on even if the beam differs from the model's by > 2x, or the image looks like a PSF or "
                   "primary-beam corrected.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Several inputs: a local dask.distributed cluster of N worker processes (default: none, serial). "
                   "On a machine with few cores it is slower than serial (2 cores, 12 files: 18-20 s against 8 s): "
                   "use it with more cores than workers.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Several inputs: an existing dask cluster (e.g. tcp://host:8786).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Several inputs: torch threads per file (the same value gives the same products).")
@click.option("--tune", default=None, metavar="ARRAY|auto|psf",
              help="First calibrate the catalogue (reliability map, cuts, flux_err) on simulated images of this "
                   "set-up (1-4 minutes): ARRAY is its antenna list (alma.cycle5.8, or a .cfg), simulated "
                   "exactly; 'auto' the ALMA configuration whose beam is nearest the image's; 'psf' uses --psf. "
                   "Without it, an image of another ALMA 12-m set-up than the model's is tuned by itself (--psf, "
                   "else 'auto'), once per set-up: the tuning is cached (ASTRO_I2I_CACHE).")
@click.option("--no-tune", is_flag=True,
              help="No automatic tuning: the model's own calibration (a beam over 2x the model's is refused, "
                   "another set-up warned about).")
@click.option("--skip-existing", is_flag=True, help="Skip the inputs whose product exists (one input too).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@overwrite_option
def reconstruct(dirty, output, samples, steps, min_reliability, source_density, pb, pbcor, no_clean_bright, model, psf, beam, hdu,
                device, batch_size, seed, quicklook, catalog_file, regions, force, workers, scheduler, threads,
                tune, no_tune, skip_existing, no_progress, overwrite):  # fmt: skip
    """Reconstruct the sky model of DIRTY (an image or a cube), with an uncertainty map and a source catalogue.

    Several DIRTY files go to the directory -o OUTDIR/, serially or on a dask
    cluster (--workers N, --scheduler ADDRESS); --skip-existing resumes an
    interrupted run.

    How good it is: on simulated ALMA Band 6 images the shipped model's catalogue
    is level with a matched filter on the dirty image (F1 32 at 0.18"); figures
    and their commands in docs/models.rst (benchmarks/evaluate_models.py).
    """
    from .._atomic import check_output_paths
    from ..exceptions import InputError
    from ..io import is_cube, read_image, unitless_image_kind
    from ..reconstruct import ReconstructOptions, Reconstructor
    from ..reconstruct._options import primary_beam_of_corrected
    from ..reconstruct.many import product_path

    if len(dirty) == 1:  # the archive's X.pbcor.fits: its X.pb.fits.gz beside it is what --pbcor needs
        pb = primary_beam_of_corrected(dirty[0], pb, pbcor)
    # Every option is checked once, before any file is read (--pbcor without --pb is one line).
    options = ReconstructOptions(samples=samples, seed=seed, steps=steps, min_reliability=min_reliability,
                                 primary_beam=pb, pb_corrected=pbcor, force=force, clean_bright=not no_clean_bright,
                                 source_density=source_density)  # fmt: skip
    if tune == "psf" and psf is None:
        raise InputError("--tune", "'psf' tunes on simulations made with the PSF: give it with --psf")
    if tune and no_tune:
        raise InputError("--no-tune", f"and --tune {tune} contradict each other: give one")
    progress = not no_progress and sys.stderr.isatty()
    many = len(dirty) > 1 or workers or scheduler or (output and (output.endswith("/") or Path(output).is_dir()))
    if many and output and _is_fits_name(output) and not Path(output).is_dir():
        raise InputError("-o", f"{output} names a FITS file, but {len(dirty)} input(s) with "
                               f"{'--workers/--scheduler' if len(dirty) == 1 else 'several inputs'} need a "
                               "directory: give -o OUTDIR/")  # fmt: skip
    if many:
        if not (tune or no_tune):
            model = _auto_tuned(dirty[0], model=model, device=device, options=options, progress=progress)[1] or model
        _reconstruct_many(dirty, output, model=model, device=device, options=options, workers=workers,
                          scheduler=scheduler, threads=threads, skip_existing=skip_existing, overwrite=overwrite,
                          unsupported={"--psf": psf, "--beam": beam, "--hdu": hdu, "--quicklook": quicklook,
                                       "--catalog": catalog_file, "--regions": regions, "--batch-size": batch_size,
                                       "--tune": tune},
                          progress=not no_progress and sys.stderr.isatty())  # fmt: skip
        return
    (dirty,) = dirty

    # Like CASA and WSClean, products go to the current directory (not beside the input, which may be read-only).
    # The name rule of many inputs (reconstruct.many.product_path): FITS suffixes dropped, tclean's kept
    # (dirty.image and dirty.image.fits both give dirty.image_i2i.fits).
    output = Path(output) if output else product_path(dirty, ".")
    if not _is_fits_name(output):
        raise InputError("-o", f"{output}: a product is a FITS file: give a name ending in .fits")
    if skip_existing and output.exists():
        click.echo(f"{dirty}: skipped, its product {output} exists (--skip-existing)")
        return
    # Every output, before any work: a clash found after writing would leave the product behind.
    check_output_paths({"-o": output, "--quicklook": quicklook, "--catalog": catalog_file, "--regions": regions},
                       inputs={"DIRTY": dirty, "--psf": psf, "--pb": pb}, overwrite=overwrite)  # fmt: skip
    check_file_kinds(catalog=("--catalog", catalog_file), regions=("--regions", regions))
    if quicklook and not str(quicklook).lower().endswith(".png"):
        raise InputError("--quicklook", f"{quicklook}: the quick-look is a PNG image: give a name ending in .png")
    if is_cube(dirty, hdu=parse_hdu(hdu)):
        _reconstruct_cube(dirty, output, options=options, model=model, device=device, catalog_file=catalog_file,
                          regions=regions, quicklook=quicklook, overwrite=overwrite, hdu=parse_hdu(hdu),
                          progress=not no_progress and sys.stderr.isatty())  # fmt: skip
        return
    # What reading says (no BUNIT, ...) is held back until the image is known to be a dirty image: a primary beam
    # or a PSF given as DIRTY is one error line, not warnings about units and beams first.
    with _held_messages() as held:
        image = read_image(dirty, hdu=parse_hdu(hdu), psf=psf, beam=beam)
    lookalike = None if force or pbcor else {"pb": "a primary beam", "psf": "a PSF"}.get(unitless_image_kind(image))
    if lookalike:
        hint = "; give it as the primary beam (primary_beam=) with the dirty image" \
            if lookalike == "a primary beam" else ""  # fmt: skip
        raise InputError(image.name, f"looks like {lookalike}, not a dirty image (no BUNIT, peak 1 at the "
                                     f"reference pixel){hint}; use force=True to go on")  # fmt: skip
    held.release()
    reconstructor = Reconstructor.from_pretrained(model, device=device)
    if not (tune or no_tune):
        reconstructor = _auto_tuned(image, reconstructor=reconstructor, psf=psf, options=options,
                                    progress=progress)[0] or reconstructor  # fmt: skip
    if tune:
        from ..training import tune_to_setup

        reconstructor = tune_to_setup(reconstructor, dirty, psf=psf if tune == "psf" else None,
                                      array=None if tune == "psf" else tune, primary_beam=pb,
                                      source_density=source_density, samples=samples,
                                      progress=not no_progress and sys.stderr.isatty())  # fmt: skip
    result = reconstructor.reconstruct(image, options=options, psf=psf, batch_size=batch_size,
                                       progress=not no_progress and sys.stderr.isatty())  # fmt: skip
    with _all_or_nothing() as written:
        with _no_wrote_line():  # the summary's "-> OUT" says it
            written.append(result.write(output, overwrite=overwrite))
        written.extend(write_files(result.catalog, catalog_file, regions, overwrite, beam=result.image.beam))
        if quicklook:
            write_quicklook(result, quicklook, overwrite=overwrite)
    for line in summary(result, output):
        click.echo(line)
    for kind, path in (("catalogue", catalog_file), ("regions", regions), ("quick-look", quicklook)):
        if path:
            click.echo(f"-> {path} ({kind})")


def _auto_tuned(image, *, model=None, device="cpu", reconstructor=None, psf=None, options, progress):
    """``(tuned reconstructor, its checkpoint)`` for an image of another ALMA 12-m set-up than the model's (the
    cached tuning, or one made now: `astro_i2i.training.tuned_for_setup`, with the PSF and primary beam given or
    found beside the image, else the nearest ALMA configuration); ``(None, None)`` for the model's own
    set-up, or where it cannot be tuned (no frequency to choose an array by: the model's warning names --tune).
    Outside the 12-m set-ups, one error naming the parameter and adapt (unless --force)."""
    from ..exceptions import InputError
    from ..io import find_primary_beam, find_psf, is_cube, read_image
    from ..reconstruct import Reconstructor

    if not hasattr(image, "data"):  # a file name (the first of several inputs)
        if is_cube(image):
            return None, None
        with _held_messages():
            image = read_image(image)
    if reconstructor is None:
        reconstructor = Reconstructor.from_pretrained(model, device=device)
    psf = psf if psf is not None else find_psf(image.name)  # tclean's X.psf beside X.image, as reconstruct finds it
    unlike, outside = reconstructor.needs_tuning(image, psf=psf)
    if outside:
        if options.force:
            return None, None
        name = "DIRTY.fits" if image.name.startswith("<") else image.name
        raise InputError(image.name, f"{'; '.join(outside)}: outside the ALMA 12-m set-ups a tuning covers; make a "
                                     f"model for it (astro-i2i adapt {name} --psf PSF.fits -o adapted.pt, then "
                                     "--model adapted.pt) or use --force to go on with the model's own "
                                     "calibration")  # fmt: skip
    if not unlike or (psf is None and image.frequency is None):
        return None, None
    if options.pb_corrected:
        image = reconstructor._flattened(image, options.primary_beam)[0]
    from ..training import tuned_for_setup  # only here: importing training costs 0.3 s of every run

    # The image as read (its --hdu, its beam from --beam or the PSF), flat: the tuning simulates it.
    primary_beam = options.primary_beam if options.primary_beam is not None else find_primary_beam(image.name)
    tuned, path, _ = tuned_for_setup(reconstructor, image, psf=psf, primary_beam=primary_beam,
                                     source_density=options.source_density, samples=options.samples,
                                     progress=progress)  # fmt: skip
    return tuned, path


class _Held:
    """The log records and warnings held back by `_held_messages`; `release` shows them."""

    def __init__(self):
        self.records, self.warnings, self.released = [], [], False

    def release(self):
        import warnings

        self.released = True
        logger = logging.getLogger("astro_i2i")
        for record in self.records:
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)
        for item in self.warnings:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)


@contextlib.contextmanager
def _held_messages():
    """Hold back the library's log records and the warnings of the block, to show later (`_Held.release`) or not."""
    import warnings

    held = _Held()

    class _Collect(logging.Handler):
        def emit(self, record):
            held.records.append(record)

    logger = logging.getLogger("astro_i2i")
    saved = logger.handlers[:], logger.propagate
    collect = _Collect()
    logger.handlers[:] = [collect]
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield held
    finally:
        logger.handlers[:], logger.propagate = saved
    held.warnings.extend(caught)


@contextlib.contextmanager
def _no_wrote_line():
    """Without the library's "wrote PATH" info line: the command prints "-> PATH" itself."""

    def _filter(record):
        return not (record.levelno == logging.INFO and str(record.msg).startswith("wrote "))

    loggers = [logging.getLogger(name) for name in ("astro_i2i.io._products", "astro_i2i.io._cube")]
    for logger in loggers:
        logger.addFilter(_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(_filter)


def _is_fits_name(path):
    return str(path).lower().endswith((".fits", ".fit", ".fts", ".fits.gz"))


@contextlib.contextmanager
def _all_or_nothing():
    """Yield a list for the files a run writes; if the run then fails, they are removed: no partial set is left."""
    written = []
    try:
        yield written
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                Path(path).unlink()
        raise


def _reconstruct_many(inputs, outdir, *, model, device, options, workers, scheduler, threads, skip_existing,
                      overwrite, unsupported, progress):  # fmt: skip
    """Several inputs -> OUTDIR, serially or on dask.distributed; a one-line summary; exit 1 if any failed."""
    from ..exceptions import InputError

    if not outdir:
        raise InputError("--output", "several inputs need -o OUTDIR/ (a directory for the products)")
    given = [flag for flag, value in unsupported.items() if value]
    if given == ["--tune"]:
        raise InputError("--tune", "applies to one input; for several, tune once (astro-i2i tune DIRTY --array "
                                   "ARRAY -o tuned.pt) and give --model tuned.pt")  # fmt: skip
    if given:
        raise InputError(given[0], "applies to one input; with several, each file's own header and beam are used")
    if workers and scheduler:
        raise InputError("--workers", "give --workers (a local cluster) or --scheduler (an existing one), not both")
    from ..reconstruct.many import product_path

    client = cluster = None
    # Every product there already (--skip-existing): nothing for a cluster to do, so none is started.
    nothing_to_do = skip_existing and all(product_path(path, outdir).exists() for path in inputs)
    try:
        if (workers or scheduler) and not nothing_to_do:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise InputError("--workers" if workers else "--scheduler", "needs dask.distributed: pip install "
                                 "'astro-i2i[distributed]'") from None  # fmt: skip
            if not logging.getLogger("astro_i2i").isEnabledFor(logging.DEBUG):
                # dask logs a lost scheduler or worker as tracebacks; the summary line says what failed and what to do.
                _silence_distributed(logging.CRITICAL)
            if workers:
                # The workers ignore Ctrl-C (they inherit it, ignored, when started): the terminal's SIGINT reaches
                # the whole process group, and a worker interrupted mid-task prints a traceback. This process
                # stops them when it is interrupted.
                with _sigint_ignored():
                    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)  # fmt: skip
                client = Client(cluster)
            else:
                try:
                    client = Client(scheduler)
                except (OSError, ValueError) as exc:
                    raise InputError("--scheduler", f"cannot reach a dask scheduler at {scheduler}: {exc}") from None
        result = _run_many(inputs, outdir, client=client, progress=progress, skip_existing=skip_existing,
                           options=dict(model=model, device=device, options=options, threads=threads,
                                        overwrite=overwrite))  # fmt: skip
    except KeyboardInterrupt:
        _close_quietly(client, cluster)
        client = cluster = None
        raise KeyboardInterrupt from None  # main prints "error: interrupted"
    finally:
        _close_quietly(client, cluster)
    for line in many_summary(result, len(inputs)):
        click.echo(line)
    if result.failed:
        click.get_current_context().exit(1)


def _silence_distributed(level):
    """Set dask.distributed's loggers (and the event loop's, which log its closed connections) to ``level``."""
    names = [n for n in logging.root.manager.loggerDict if n.startswith(("distributed", "tornado", "asyncio"))]
    for name in names + ["distributed", "tornado", "asyncio"]:
        logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored while the block runs (processes started meanwhile inherit it); only in the main thread."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _close_quietly(client, cluster):
    """Close a dask client and cluster without their shutdown tracebacks (closed connections, a second Ctrl-C)."""
    if client is None and cluster is None:
        return
    if not logging.getLogger("astro_i2i").isEnabledFor(logging.DEBUG):
        _silence_distributed(logging.CRITICAL + 1)
    with _sigint_ignored():
        for thing in (client, cluster):
            if thing is not None:
                with contextlib.suppress(BaseException):
                    thing.close()


def _run_many(inputs, outdir, *, client, progress, skip_existing, options):
    """`reconstruct_many` with a progress bar of files."""
    from ..reconstruct import reconstruct_many
    from ..reconstruct.many import product_path

    bar = None
    redirect = contextlib.nullcontext()
    if progress:
        from tqdm.auto import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        # One step per file, when it is finished (or has failed); those skipped are done already.
        skipped = sum(product_path(path, outdir).exists() for path in inputs) if skip_existing else 0
        bar = tqdm(total=len(inputs), initial=skipped, desc=f"{len(inputs)} files", unit="file",
                   dynamic_ncols=True)  # fmt: skip
        # The library's "info: wrote ..." lines go above the bar, not into it.
        redirect = logging_redirect_tqdm(loggers=[logging.getLogger("astro_i2i")], tqdm_class=tqdm)

    try:
        with redirect:
            return reconstruct_many(inputs, outdir, client=client, skip_existing=skip_existing,
                                    progress=None if bar is None else (lambda done, total: bar.update(1)),
                                    **options)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()


def _source_count(product):
    """The number of sources in a product file (a cube's merged sources), from its CATALOG header; None if unread."""
    from astropy.io import fits

    try:
        with fits.open(product) as hdulist:
            names = [hdu.name for hdu in hdulist]
            extname = "CATALOG_SOURCES" if "CATALOG_SOURCES" in names else "CATALOG"
            return int(hdulist[extname].header.get("NAXIS2", 0))
    except (OSError, KeyError, ValueError):
        return None


def many_summary(result, n_inputs):
    """The lines after a run over several inputs: each product with its source count, then the totals.

    The library's keyword arguments in the reasons (``force=True``) are given as the command's flags (``--force``).
    """
    from . import cli_flags

    lines = []
    for product in result.done:
        count = _source_count(product)
        lines.append(f"  {Path(product).name}: {'?' if count is None else count} source(s)")
    if result.skipped and len(result.skipped) == n_inputs:
        lines.append(f"all {n_inputs} products exist: nothing to do (--skip-existing skipped them; --overwrite "
                     "replaces them)")  # fmt: skip
        return lines
    text = cli_flags(result.summary())
    if any("output file exists" in reason for _, reason in result.failed):
        text += "; give --skip-existing to skip inputs whose product exists"
    lines.append(text)
    return lines


def _reconstruct_cube(dirty, output, *, options, model, device, catalog_file, regions, quicklook, overwrite, hdu,
                      progress):  # fmt: skip
    """A cube: channel by channel, written a block at a time."""
    from astropy.table import QTable

    from ..catalog import columns_from_header
    from ..exceptions import InputError
    from ..io import read_cube
    from ._catalog import _own_meta
    from ..reconstruct import Reconstructor

    if quicklook:
        raise InputError("--quicklook", "is for 2-D images; open the cube product in CARTA or DS9")
    cube = read_cube(dirty, hdu=hdu)
    reconstructor = Reconstructor.from_pretrained(model, device=device)
    with _no_wrote_line():  # "-> OUT" says it
        reconstructor.reconstruct_cube(cube, output, options=options, overwrite=overwrite, progress=bool(progress))
    with _all_or_nothing() as written:
        written.append(Path(output))
        sources = _own_meta(columns_from_header(QTable.read(output, hdu="CATALOG_SOURCES")), output)
        detections = _own_meta(columns_from_header(QTable.read(output, hdu="CATALOG")), output)
        # The catalogue: the sources merged across channels; the regions: each detection, labelled with its channel.
        beams = cube.beams
        written.extend(write_files(sources, catalog_file, regions, overwrite, regions_table=detections,
                                   beam=beams[0] if beams else reconstructor.beam))  # fmt: skip
    click.echo(f"{cube.name}: {cube.nchan} channels, {len(detections)} detection(s), {len(sources)} source(s) "
               f"across channels (model {reconstructor.name})")  # fmt: skip
    click.echo(f"-> {output}")
    for kind, path in (("catalogue", catalog_file), ("regions", regions)):
        if path:
            click.echo(f"-> {path} ({kind})")


def summary(result, output):
    """A few lines on a `~astro_i2i.Reconstruction`."""
    catalog = result.catalog
    mode = "direct" if result.uncertainty is None else f"K = {result.provenance['samples']}"
    lines = [f"{result.image.name}: {len(catalog)} source(s) ({mode}, model {result.provenance['model']}, "
             f"seed {result.provenance['seed']})"]  # fmt: skip
    for row in catalog[:5]:
        err = row["flux_err"].to_value("mJy")
        err_text = f" +- {err:.3f}" if err == err else ""
        reliability = row["reliability"]
        found = f", reliability {reliability:.2f}" if reliability == reliability else ""  # NaN: not calibrated
        lines.append(f"  #{row['id']}: RA {row['ra'].to_value('deg'):.6f} Dec {row['dec'].to_value('deg'):+.6f}  "
                     f"{row['flux'].to_value('mJy'):.3f}{err_text} mJy{found}")  # fmt: skip
    if len(catalog) > 5:
        lines.append(f"  ... and {len(catalog) - 5} more")
    lines.append(f"-> {output}")
    return lines


def write_quicklook(result, path, *, overwrite=False):
    """PNG: the dirty image, the sky, the uncertainty, with the catalogue marked (WCS axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    from .._atomic import atomic_output

    panels = [("dirty image (Jy/beam)", result.image.data), ("sky model (Jy/pixel)", result.sky)]
    if result.uncertainty is not None:
        panels.append(("uncertainty (Jy/pixel)", result.uncertainty))
    fig = plt.figure(figsize=(4.2 * len(panels), 4.4))
    for i, (title, data) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1, projection=result.wcs)
        finite = data[np.isfinite(data)]
        low, high = np.percentile(finite, [1, 99.9]) if finite.size else (0, 1)
        shown = ax.imshow(data, origin="lower", cmap="inferno", vmin=low, vmax=high if high > low else low + 1)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
        if len(result.catalog):
            ax.scatter(result.catalog["x"].value, result.catalog["y"].value, s=120, facecolors="none",
                       edgecolors="cyan", linewidths=0.8)  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.coords[0].set_axislabel("RA")
        ax.coords[1].set_axislabel("Dec" if i == 0 else " ")
    fig.suptitle(f"{Path(result.image.name).name}: {len(result.catalog)} source(s)", fontsize=11)
    fig.tight_layout()
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("sky")
@click.option("-o", "--output", required=True, metavar="OUT", help="Dirty image to write (FITS).")
@click.option("--style-from", default=None, metavar="DIRTY", help="Use the estimated style of this dirty image.")
@click.option("--seed", type=int, default=None, help="Without --style-from: seed of the simulated noise style.")
@_model_option
@hdu_option
@_device_option
@overwrite_option
def generate(sky, output, style_from, seed, model, hdu, device, overwrite):
    """Generate a dirty image from a sky model SKY (Jy/pixel) and a style."""
    from .._atomic import atomic_output, check_output_paths
    from ..reconstruct import Reconstructor

    check_output_paths({"-o": output}, inputs={"SKY": sky, "--style-from": style_from}, overwrite=overwrite)
    reconstructor = Reconstructor.from_pretrained(model, device=device)
    hdu_out = reconstructor.generate(sky, style_from=style_from, seed=seed, hdu=parse_hdu(hdu))
    with atomic_output(output, overwrite=overwrite) as tmp:
        hdu_out.writeto(tmp, output_verify="exception")
    click.echo(f"generated dirty image -> {output}")
