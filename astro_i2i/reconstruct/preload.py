"""A dask worker preload: load the model when the worker starts, not on its first file.

Usage::

    dask worker tcp://head:8786 --nthreads 1 --preload astro_i2i.reconstruct.preload [--i2i-model MODEL] [--i2i-device cpu]

``--i2i-model`` is what ``astro-i2i reconstruct --model`` will be given (a
shipped name or a checkpoint path as the client names it; default: the
default model). The worker's model cache is the one `reconstruct_many` uses,
so the first file a worker takes costs no model loading.
"""

import click

__all__ = ["dask_setup"]


@click.command()
@click.option("--i2i-model", default=None, help="Model to preload (shipped name or checkpoint path).")
@click.option("--i2i-device", default="cpu", show_default=True, help="torch device.")
def dask_setup(worker, i2i_model, i2i_device):
    """Load the model into this worker process's cache."""
    from .many import preload_model

    preload_model(i2i_model, device=i2i_device)
