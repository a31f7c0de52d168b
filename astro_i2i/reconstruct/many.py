"""Many inputs in one call: serially, or on a dask.distributed cluster, resumable and reproducible.

An image is one task: the worker loads the model once (it is cached per
process), reconstructs the image and writes its product atomically. A cube
is one task per block of channels (`~astro_i2i.reconstruct.cube.CUBE_BLOCK`):
workers send the blocks' planes and catalogues back, and the caller writes
them into the cube's product as they arrive (`CubeAssembler`), renamed into
place when the last block is in. So an interrupted run loses no finished
product and leaves no partial file; ``skip_existing`` then completes only
what is missing. Seeds follow the input and the channel, and tasks run with
a fixed number of torch threads (``threads``): the same threads give the same
products, bit for bit, whatever the number of workers and the order the tasks
run in.
"""

import contextlib
import logging
import os
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .._progress import Progress, check_progress
from .._validate import positive_int
from ..exceptions import InputError
from ._options import ReconstructOptions

__all__ = ["reconstruct_many", "ManyResult", "product_path", "preload_model"]

logger = logging.getLogger(__name__)

_MODELS = {}  # per process: (model, device) -> Reconstructor
_CUBES = {}  # per process: (path, mtime, size) -> RadioCube, the last few opened


@dataclass
class ManyResult:
    """What `reconstruct_many` did: product paths, skipped inputs, and failures with their reason.

    Attributes
    ----------
    done : list
        Paths of the products written.
    skipped : list
        Inputs skipped because their product exists.
    failed : list of tuple
        ``(input, reason)`` of each input that failed.
    """

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (input, reason)

    def summary(self):
        """One line: done, skipped, failed (with each failure's reason; inputs that failed alike together).

        Returns
        -------
        text : str
            E.g. ``'3 done, 1 skipped (product exists), 1 failed: a.fits: no beam'``.
        """
        text = f"{len(self.done)} done, {len(self.skipped)} skipped (product exists), {len(self.failed)} failed"
        if self.failed:
            reasons = {}
            for name, reason in self.failed:
                reasons.setdefault(reason, []).append(Path(name).name)
            text += ": " + "; ".join(f"{', '.join(names)}: {reason}" for reason, names in reasons.items())
        return text


def product_path(input_path, outdir):
    """The product file of an input in ``outdir``: its stem + ``_i2i.fits``.

    Parameters
    ----------
    input_path : str or path-like
        The input image; a ``.fits.gz``, ``.fits``, ``.fit`` or ``.fts``
        suffix (any case) is dropped.
    outdir : str or path-like
        The output directory.

    Returns
    -------
    path : `pathlib.Path`
        ``outdir / (stem + '_i2i.fits')``.
    """
    name = Path(input_path).name
    for suffix in (".fits.gz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return Path(outdir) / f"{name}_i2i.fits"


def _model_name(model):
    """How a model is named to the workers: a checkpoint by its absolute path, a shipped model by its name."""
    if model is not None and (str(model).endswith(".pt") or os.path.exists(str(model))):
        return str(Path(model).resolve())
    return model


def _reconstructor(model, device):
    from .reconstructor import Reconstructor

    key = (str(model), str(device))
    if key not in _MODELS:
        _MODELS[key] = Reconstructor.from_pretrained(model, device=device)
    return _MODELS[key]


def preload_model(model=None, *, device="cpu"):
    """Load ``model`` into this process's cache, as a worker does on its first file (dask worker ``--preload``).

    Returns the `Reconstructor`.

    Parameters
    ----------
    model : str or path-like, optional
        A shipped model's name or a checkpoint path; default None, the default
        shipped model.
    device : str, optional
        torch device. Default ``'cpu'``.

    Returns
    -------
    reconstructor : `~astro_i2i.Reconstructor`
        The cached reconstructor (the same object on later calls with the same
        model and device).
    """
    return _reconstructor(_model_name(model), device)


def _cube(path, primary_beam=None):
    """``(cube, (pb, source))`` at ``path``, opened once per process for its blocks (a changed file is opened again).

    The primary beam is read once with the cube (`~astro_i2i.reconstruct.cube.cube_primary_beam`).
    """
    from ..io import read_cube
    from .cube import cube_primary_beam

    stat = os.stat(path)
    key = (str(path), stat.st_mtime_ns, stat.st_size, None if primary_beam is None else str(primary_beam))
    if key not in _CUBES:
        while len(_CUBES) >= 2:
            _CUBES.pop(next(iter(_CUBES)))
        cube = read_cube(path)
        _CUBES[key] = cube, cube_primary_beam(cube, primary_beam)
    return _CUBES[key]


def _failure(exc, input_path, output):
    """A failure's one-line reason: bad input says what is wrong; anything else its type and message."""
    if isinstance(exc, InputError):
        return exc.problem if exc.source in (str(input_path), str(output)) else str(exc)
    logger.debug("%s: %s", input_path, traceback.format_exc())
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class _Job:
    """What every task of one `reconstruct_many` call shares: the model, how to run it, how to reconstruct."""

    model: object
    device: str
    threads: int
    overwrite: bool
    options: ReconstructOptions


def _prepare(job):
    """A task's set-up: its torch threads and the process's cached model."""
    import torch

    torch.set_num_threads(job.threads)
    return _reconstructor(job.model, job.device)


def _task(input_path, output, job):
    """Reconstruct one image to ``output``; returns ``(input, output, None)`` or ``(input, None, reason)``.

    Bad input is a failure with its one-line reason, not an exception: one bad
    file must not stop a survey.
    """
    try:
        reconstructor = _prepare(job)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per-file warnings would interleave across workers; the log has them
            reconstructor.reconstruct(input_path, options=job.options).write(output, overwrite=job.overwrite)
    except Exception as exc:  # noqa: BLE001 -- a failure is reported per file, with its reason
        return str(input_path), None, _failure(exc, input_path, output)
    return str(input_path), str(output), None


def _block_task(input_path, start, stop, job):
    """Channels ``start:stop`` of a cube: ``(channels, None)`` (see `reconstruct_channels`) or ``(None, reason)``."""
    from .cube import reconstruct_channels

    try:
        reconstructor = _prepare(job)
        cube, primary_beam = _cube(input_path, job.options.primary_beam)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reconstruct_channels(reconstructor, cube, start, stop, options=job.options,
                                        primary_beam=primary_beam), None  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        return None, _failure(exc, input_path, None)


def reconstruct_many(inputs, outdir, *, model=None, device="cpu", options=None, threads=1, client=None,
                     skip_existing=False, overwrite=False, block=None, progress=None, _on_event=None,
                     **keywords):  # fmt: skip
    """Reconstruct many dirty images or cubes into ``outdir``, serially or on a dask cluster.

    Parameters
    ----------
    inputs : list of str or path-like
        Dirty images and cubes (FITS files).
    outdir : str or path-like
        Directory for the products (``<stem>_i2i.fits``); created if missing (and removed
        again if the run wrote nothing in it).
    model, device : optional
        As for `Reconstructor.from_pretrained` (a path or shipped name: every
        worker loads it once).
    options : `~astro_i2i.reconstruct.ReconstructOptions`, optional
        How to reconstruct every input (the seed is the same for every input:
        products do not depend on which worker made them). Its
        ``primary_beam`` is one primary beam for every input; without one,
        each input's own ``.pb`` beside it is used where there is one
        (`~astro_i2i.io.find_primary_beam`), else the model's antenna.
    threads : int, optional
        torch threads per task. Products are identical, bit for bit, for the
        same ``threads`` whatever the number of workers.
    client : `distributed.Client`, optional
        Run the tasks on this cluster (``Client(n_workers=N)`` for a local one,
        ``Client("tcp://scheduler:8786")`` for an existing one); serially
        without. dask retries a task whose worker died (``retries=2``).
    skip_existing : bool, optional
        Skip inputs whose product exists (products are written atomically, so
        an existing one is complete).
    overwrite : bool, optional
        Replace existing products (without it, and without
        ``skip_existing``, an existing product is a failure).
    block : int, optional
        Channels per cube task (default `~astro_i2i.reconstruct.cube.CUBE_BLOCK`):
        a cube is split by channel blocks across the workers.
    progress : None, bool or callable, optional
        Progress over the inputs to do (`astro_i2i._progress`): True for a
        tqdm bar, or a callable ``progress(done, total)`` called as each input
        is finished or has failed (those skipped are not counted).
    **keywords
        Instead of ``options``: its fields (``samples=``, ``seed=``, ...).

    Returns
    -------
    result : `ManyResult`
    """
    inputs = [str(path) for path in inputs]
    if not inputs:
        raise InputError("inputs", "no input files given")
    options = ReconstructOptions.from_keywords(options, **keywords)
    threads = positive_int(threads, "threads")
    check_progress(progress)
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(outdir, "exists and is not a directory (give a directory for many inputs)")
    outputs = [product_path(path, outdir) for path in inputs]
    first = {}
    for path, output in zip(inputs, outputs):
        if output in first:
            same = os.path.realpath(path) == os.path.realpath(first[output])
            raise InputError(path, "given twice" if same else f"has the same file name as {first[output]}: their "
                                   f"products ({output.name}) would collide")  # fmt: skip
        first[output] = path
    created = not outdir.exists()
    outdir.mkdir(parents=True, exist_ok=True)
    result = ManyResult()
    todo = []
    for path, output in zip(inputs, outputs):
        if skip_existing and output.exists():
            result.skipped.append(path)
        else:
            todo.append((path, output))
    job = _Job(model=_model_name(model), device=str(device), threads=threads, overwrite=bool(overwrite),
               options=options)  # fmt: skip
    from .cube import CUBE_BLOCK

    try:
        with Progress(progress, len(todo), desc="files", unit="file") as report:
            result = _Run(result, job, report, _on_event).run(todo, client, CUBE_BLOCK if block is None else block)
    finally:
        if created and not any(outdir.iterdir()):
            outdir.rmdir()  # a run that wrote nothing leaves no empty directory behind
    return result


class _Run:
    """The work of one `reconstruct_many` call: image tasks, cube block tasks, and the cubes being assembled."""

    def __init__(self, result, job, report, on_event=None):
        self.result, self.job, self.report, self.on_event = result, job, report, on_event
        self.cubes = {}  # input -> [CubeAssembler, blocks still to come]

    def _report(self, path, output=None, reason=None, units=0):
        if reason is not None:
            self.result.failed.append((path, reason))
        elif output is not None:
            self.result.done.append(output)
        if output is not None or reason is not None:
            self.report.update()
        if self.on_event is not None:  # the tests' hook into the run (an interrupt between two blocks)
            self.on_event(path, output, reason, units)

    def _work(self, todo, block):
        """(function, arguments) of every task; cubes' assemblers are opened here, in the caller's process."""
        from ..io import is_cube
        from .cube import CubeAssembler, channel_blocks

        work = []
        for path, output in todo:
            if not is_cube(path):
                work.append((_task, (path, str(output), self.job)))
                continue
            try:
                cube, _ = _cube(path, self.job.options.primary_beam)  # a primary beam that does not fit fails here
                blocks = channel_blocks(cube.nchan, block)
                self.cubes[path] = [CubeAssembler(cube, output, seed=self.job.options.seed,
                                                  overwrite=self.job.overwrite), len(blocks)]  # fmt: skip
            except Exception as exc:  # noqa: BLE001
                self._report(path, reason=_failure(exc, path, output))
                continue
            work.extend((_block_task, (path, start, stop, self.job)) for start, stop in blocks)
        return work

    def _done(self, function, args, outcome):
        """Record a task's outcome; a cube is finished (renamed into place) when its last block is in."""
        if function is _task:
            path, output, reason = outcome
            self._report(path, output, reason, units=1)
            return
        path, start, stop = args[:3]
        if path not in self.cubes:  # the cube failed already
            return
        channels, reason = outcome
        assembler = self.cubes[path][0]
        try:
            if reason is None:
                assembler.add(start, channels)
                self.cubes[path][1] -= 1
                self._report(path, units=stop - start)
                if self.cubes[path][1] == 0:
                    del self.cubes[path]
                    # A cube without beams: its sources are merged at the model's beam, as it was reconstructed.
                    beam = None if assembler.cube.beams else \
                        _reconstructor(self.job.model, self.job.device).beam  # fmt: skip
                    self._report(path, str(assembler.finish(beam=beam)))
                return
        except Exception as exc:  # noqa: BLE001
            reason = _failure(exc, path, None)
        self.cubes.pop(path, None)
        assembler.abort()
        self._report(path, reason=reason)

    def run(self, todo, client, block):
        work = self._work(todo, block)
        try:
            if client is None:
                for function, args in work:
                    if function is _task or args[0] in self.cubes:
                        self._done(function, args, function(*args))
                return self.result
            self._run_distributed(work, client)
            return self.result
        finally:
            for assembler, _ in self.cubes.values():  # interrupted: no partial cube product stays behind
                assembler.abort()
            self.cubes.clear()

    def _run_distributed(self, work, client):
        from distributed import as_completed

        run = uuid.uuid4().hex[:8]
        futures = {}
        for i, (function, args) in enumerate(work):
            name = Path(args[0]).name + (f"-ch{args[1]}" if function is _block_task else "")
            future = client.submit(function, *args, key=f"astro-i2i-{run}-{i}-{name}", pure=False, retries=2)
            futures[future] = (function, args)
        try:
            for future in as_completed(list(futures)):
                function, args = futures.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 -- a worker lost more often than the retries allow
                    reason = _lost(exc)
                    outcome = (args[0], None, reason) if function is _task else (None, reason)
                future.release()  # the planes are written: the cluster need not keep them
                self._done(function, args, outcome)
        except BaseException:
            # Interrupted (Ctrl-C) or failed: the cluster drops the rest, without a traceback of its own.
            with contextlib.suppress(BaseException):
                client.cancel(list(futures))
            raise


def _lost(exc):
    """The reason a task's result never came: the scheduler gone, the workers killed, or another error."""
    cause = getattr(exc, "reason", None)
    if type(exc).__name__ in ("CancelledError", "FutureCancelledError"):
        return f"cancelled ({cause or 'the cluster went away'}); re-run with --skip-existing"
    if type(exc).__name__ == "KilledWorker":
        return "its workers died more often than the retries allow (out of memory?); re-run with --skip-existing"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
