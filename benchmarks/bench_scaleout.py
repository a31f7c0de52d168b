"""Throughput of many-file reconstruction, serial and on local dask workers; peak memory of a big cube (issue 14).

Usage::

    python benchmarks/bench_scaleout.py              # 16 images of 512 x 512, K = 10
    python benchmarks/bench_scaleout.py --cube       # also: peak RSS of a 1024 x 1024 x 200 cube

Each configuration reconstructs the same simulated images into a fresh
directory with `astro_i2i.reconstruct.reconstruct_many`; a warm-up file per
worker is run first, so the figures are the steady state (model loaded, torch
started). Images per second = files / wall time of the batch.
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _simulate(directory, n):
    from astro_i2i.simulate import write_dataset

    write_dataset(directory, n, seed=7_000_000, overwrite=True)
    return sorted(Path(directory).glob("dirty_*.fits"))


def _run(inputs, outdir, *, workers, threads, samples):
    from astro_i2i.reconstruct import reconstruct_many

    client = cluster = None
    if workers:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        # Warm-up: one file per worker (model load, torch start), not timed.
        warm = [inputs[0]] * max(workers or 1, 1)
        for k, path in enumerate(warm):
            reconstruct_many([path], Path(outdir) / f"warm{k}", samples=samples, threads=threads, client=client)
        started = time.perf_counter()
        result = reconstruct_many(inputs, Path(outdir) / "run", samples=samples, threads=threads, client=client)
        elapsed = time.perf_counter() - started
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    assert not result.failed, result.summary()
    return len(inputs) / elapsed


def _cube_peak_rss(directory, shape=(200, 1024, 1024)):
    """Write a noise cube of ``shape`` and reconstruct it in a child process; its peak RSS in MiB."""
    from astropy.io import fits

    from astro_i2i.simulate import SimulationConfig, image_wcs

    nchan, ny, nx = shape
    config = SimulationConfig.from_dict({"image": {"size": nx}})
    hdu = fits.PrimaryHDU(np.zeros((1, 1, 1), np.float32))
    hdu.header["NAXIS1"], hdu.header["NAXIS2"], hdu.header["NAXIS3"] = nx, ny, nchan
    hdu.header.update(image_wcs(config, 150.1, 2.2).to_header())
    hdu.header["WCSAXES"] = 3
    hdu.header.update({"CTYPE3": "FREQ", "CRVAL3": 230e9, "CDELT3": 1e7, "CRPIX3": 1.0, "CUNIT3": "Hz",
                       "BUNIT": "Jy/beam", "BMAJ": 0.89 / 3600, "BMIN": 0.82 / 3600, "BPA": 82.0})  # fmt: skip
    path = Path(directory) / "big_cube.fits"
    rng = np.random.default_rng(0)
    with open(path, "wb") as handle:
        handle.write(hdu.header.tostring().encode("ascii"))
        for _ in range(nchan):
            handle.write(rng.normal(0, 1.3e-4, (ny, nx)).astype(">f4").tobytes())
        handle.write(b"\0" * (-(4 * nchan * ny * nx) % 2880))
    code = ("import resource, sys; from astro_i2i import Reconstructor; "
            "Reconstructor.from_pretrained().reconstruct_cube(sys.argv[1], sys.argv[2], samples=10); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")  # fmt: skip
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path), str(Path(directory) / "big_cube_i2i.fits")],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1]), time.perf_counter() - started, path.stat().st_size / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=16, help="images per configuration")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--cube", action="store_true", help="also measure a 1024 x 1024 x 200 cube's peak RSS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = _simulate(Path(tmp) / "images", args.n)
        print(f"{args.n} simulated 512 x 512 images, K = {args.samples}; images per second (steady state):")
        rows = [("serial, 1 thread", 0, 1), ("serial, 2 threads", 0, 2), ("1 worker, 1 thread", 1, 1),
                ("1 worker, 2 threads", 1, 2), ("2 workers, 1 thread each", 2, 1)]  # fmt: skip
        for k, (label, workers, threads) in enumerate(rows):
            rate = _run(inputs, Path(tmp) / f"out{k}", workers=workers, threads=threads, samples=args.samples)
            print(f"  {label:28s} {rate:6.2f} images/s", flush=True)
        if args.cube:
            rss, seconds, size = _cube_peak_rss(tmp)
            print(f"1024 x 1024 x 200 cube ({size:.0f} MiB on disk), K = 10: peak RSS {rss:.0f} MiB, {seconds:.0f} s")
    print(f"(this process's peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
