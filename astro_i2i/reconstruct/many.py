"""Many inputs in one call: serially, or on a dask.distributed cluster, resumable and reproducible.

Every input is one task: the worker loads the model once (it is cached per
process), reconstructs the image or cube with the input's seed, and writes
its product atomically, so an interrupted run loses no finished product and
leaves no partial file; ``skip_existing`` then completes only what is
missing. Tasks run with a fixed number of torch threads (``threads``):
the same threads give the same products, bit for bit, whatever the number
of workers and the order the tasks run in.
"""

import logging
import os
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import InputError

__all__ = ["reconstruct_many", "ManyResult", "product_path"]

logger = logging.getLogger(__name__)

_MODELS = {}  # per process: (model, device) -> Reconstructor


@dataclass
class ManyResult:
    """What `reconstruct_many` did: product paths, skipped inputs, and failures with their reason."""

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (input, reason)

    def summary(self):
        """One line: done, skipped, failed (with each failure's reason)."""
        text = f"{len(self.done)} done, {len(self.skipped)} skipped (product exists), {len(self.failed)} failed"
        if self.failed:
            text += ": " + "; ".join(f"{Path(name).name}: {reason}" for name, reason in self.failed)
        return text


def product_path(input_path, outdir):
    """The product file of an input in ``outdir``: its stem + ``_i2i.fits``."""
    name = Path(input_path).name
    for suffix in (".fits.gz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return Path(outdir) / f"{name}_i2i.fits"


def _reconstructor(model, device):
    from .reconstructor import Reconstructor

    key = (str(model), str(device))
    if key not in _MODELS:
        _MODELS[key] = Reconstructor.from_pretrained(model, device=device)
    return _MODELS[key]


def _task(input_path, output, options):
    """Reconstruct one input to ``output``; returns ``(input, output, None)`` or ``(input, None, reason)``.

    Bad input is a failure with its one-line reason, not an exception: one bad
    file must not stop a survey.
    """
    import torch

    from ..io import is_cube

    torch.set_num_threads(int(options["threads"]))
    try:
        reconstructor = _reconstructor(options["model"], options["device"])
        kwargs = {key: options[key] for key in ("samples", "seed", "min_reliability", "force", "steps")}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per-file warnings would interleave across workers; the log has them
            if is_cube(input_path):
                reconstructor.reconstruct_cube(input_path, output, overwrite=options["overwrite"], **kwargs)
            else:
                reconstructor.reconstruct(input_path, **kwargs).write(output, overwrite=options["overwrite"])
    except InputError as exc:
        return str(input_path), None, exc.problem if exc.source in (str(input_path), str(output)) else str(exc)
    except Exception as exc:  # noqa: BLE001 -- a failure is reported per file, with its reason
        logger.debug("%s: %s", input_path, traceback.format_exc())
        return str(input_path), None, f"{type(exc).__name__}: {exc}"
    return str(input_path), str(output), None


def reconstruct_many(inputs, outdir, *, model=None, device="cpu", samples=None, seed=None, min_reliability=None,
                     steps=None, force=False, threads=1, client=None, skip_existing=False, overwrite=False,
                     progress=None):  # fmt: skip
    """Reconstruct many dirty images or cubes into ``outdir``, serially or on a dask cluster.

    Parameters
    ----------
    inputs : list of str or path-like
        Dirty images and cubes (FITS files).
    outdir : str or path-like
        Directory for the products (``<stem>_i2i.fits``); created if missing.
    model, device : optional
        As for `Reconstructor.from_pretrained` (a path or shipped name: every
        worker loads it once).
    samples, seed, min_reliability, steps, force : optional
        As for `Reconstructor.reconstruct` (the seed is the same for every
        input: products do not depend on which worker made them).
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
    progress : callable, optional
        Called with ``(input, output or None, reason or None)`` as each task ends.

    Returns
    -------
    result : `ManyResult`
    """
    inputs = [str(path) for path in inputs]
    if not inputs:
        raise InputError("inputs", "no input files given")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(outdir, "exists and is not a directory (give a directory for many inputs)")
    outdir.mkdir(parents=True, exist_ok=True)
    outputs = [product_path(path, outdir) for path in inputs]
    if len(set(outputs)) < len(outputs):
        raise InputError("inputs", "two inputs have the same file name: their products would collide")
    result = ManyResult()
    todo = []
    for path, output in zip(inputs, outputs):
        if skip_existing and output.exists():
            result.skipped.append(path)
        else:
            todo.append((path, output))
    options = {"model": model, "device": device, "samples": samples, "seed": seed, "min_reliability": min_reliability,
               "steps": steps, "force": force, "threads": threads, "overwrite": overwrite}  # fmt: skip
    if model is not None and (str(model).endswith(".pt") or os.path.exists(str(model))):
        options["model"] = str(Path(model).resolve())

    def record(outcome):
        path, output, reason = outcome
        if reason is None:
            result.done.append(output)
        else:
            result.failed.append((path, reason))
        if progress is not None:
            progress(path, output, reason)

    if client is None:
        for path, output in todo:
            record(_task(path, str(output), options))
        return result
    from distributed import as_completed

    futures = [client.submit(_task, path, str(output), options, key=f"astro-i2i-{Path(output).name}-{i}",
                             pure=False, retries=2)
               for i, (path, output) in enumerate(todo)]  # fmt: skip
    try:
        for future in as_completed(futures):
            try:
                record(future.result())
            except Exception as exc:  # noqa: BLE001 -- a worker lost more often than the retries allow
                index = futures.index(future)
                record((todo[index][0], None, f"{type(exc).__name__}: {exc}"))
    except BaseException:
        client.cancel(futures)
        raise
    return result
