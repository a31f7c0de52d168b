"""Whole-process time of ``astro-i2i reconstruct`` against the classical chain, CLEAN (radler) + PyBDSF (issue 26).

Usage: python benchmarks/bench_cli.py [--runs 5] [--image DIRTY --psf PSF --pb PB] [--batch 12]

Both are run as a user runs them, each as a fresh process, on the same CASA-made
512 x 512 image (default ``../shared/reference/casa/dirty_000.fits``, its PSF
and primary beam), alternately, ``--runs`` times (after one untimed warm-up
each, so that the file cache is warm for both):

- ``astro-i2i reconstruct DIRTY --psf PSF --pb PB -o OUT --overwrite`` (K = 10,
  the shipped 2-to-1 model: sky model, uncertainty, catalogue, product file);
- ``python benchmarks/bench_cli.py --chain DIRTY PSF PB OUT``: radler's CLEAN to
  3 sigma, restored, then PyBDSF (``bdsf.process_image``), its catalogue
  written (`astro_i2i.baselines.clean` and `~astro_i2i.baselines.pybdsf_catalog`,
  which import only what they use).

Prints each run's wall time, the medians, their ratio (target: at most 0.5), and
the user + system CPU time of the children (``resource.getrusage``). With
``--batch N`` it also times N images (the first N ``dirty_*.fits`` beside
``--image``) in one process each way -- ``astro-i2i reconstruct D1 ... DN -o
OUTDIR/`` against the chain looping over them -- and prints the time per image,
where imports are paid once. Needs the ``baselines`` extra (radler, bdsf).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "casa"


def _chain(dirty, psf, pb, output):
    """The classical chain in this process: CLEAN with radler, then PyBDSF; the catalogue as ECSV.

    ``dirty``, ``psf`` and ``output`` may be comma-separated lists (one process for many images).
    """
    for one_dirty, one_psf, one_output in zip(dirty.split(","), psf.split(","), output.split(",")):
        _chain_one(one_dirty, one_psf, pb, one_output)


def _chain_one(dirty, psf, pb, output):
    import numpy as np
    from astropy import units as u
    from astropy.io import fits
    from astropy.wcs import WCS
    from radio_beam import Beam

    from astro_i2i.baselines import clean, pybdsf_catalog

    with fits.open(dirty) as hdulist:
        header = hdulist[0].header
        image = np.squeeze(hdulist[0].data).astype(np.float32)
    psf_image = np.squeeze(fits.getdata(psf)).astype(np.float32)
    primary_beam = np.nan_to_num(np.squeeze(fits.getdata(pb)))
    wcs = WCS(header).celestial
    beam = Beam.from_fits_header(header)
    pixel = abs(header["CDELT2"]) * u.deg
    frequency = next(header[f"CRVAL{i}"] for i in range(1, header["NAXIS"] + 1)
                     if str(header.get(f"CTYPE{i}", "")).startswith("FREQ")) * u.Hz  # fmt: skip
    restored, _, _ = clean(image, psf_image, beam, pixel_scale=pixel, nsigma=3.0)
    catalog = pybdsf_catalog(restored, wcs, beam, frequency=frequency, primary_beam=primary_beam)
    catalog.write(output, format="ascii.ecsv", overwrite=True)
    print(f"{len(catalog)} source(s) -> {output}")


def _timed(command):
    """Wall seconds of one process, and its CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default=str(REFERENCE / "dirty_000.fits"))
    parser.add_argument("--psf", default=str(REFERENCE / "psf_000.fits"))
    parser.add_argument("--pb", default=str(REFERENCE / "pb_000.fits"))
    parser.add_argument("--batch", type=int, default=0, help="also N images in one process each way")
    parser.add_argument("--chain", nargs=4, metavar=("DIRTY", "PSF", "PB", "OUT"), help="(internal) run the chain")
    args = parser.parse_args()
    if args.chain:
        _chain(*args.chain)
        return
    executable = Path(sys.executable).with_name("astro-i2i")
    with tempfile.TemporaryDirectory() as tmp:
        ours = [str(executable), "reconstruct", args.image, "--psf", args.psf, "--pb", args.pb, "-o",
                os.path.join(tmp, "i2i.fits"), "--overwrite", "--no-progress"]  # fmt: skip
        theirs = [sys.executable, __file__, "--chain", args.image, args.psf, args.pb, os.path.join(tmp, "chain.ecsv")]
        _timed(ours), _timed(theirs)  # warm-up: the file cache, the byte-code
        results = {"astro-i2i reconstruct (K = 10)": [], "CLEAN (radler) + PyBDSF": []}
        for run in range(args.runs):
            for (name, times), command in zip(results.items(), (ours, theirs)):
                times.append(_timed(command))
                print(f"run {run + 1}: {name}: {times[-1][0]:.2f} s wall, {times[-1][1]:.2f} s CPU", flush=True)
        _report(results, f"{Path(args.image).name}, one image per process, {args.runs} runs each")
        if args.batch:
            images = sorted(Path(args.image).parent.glob("dirty_*.fits"))[: args.batch]
            psfs = [str(p).replace("dirty_", "psf_") for p in images]
            outputs = [os.path.join(tmp, f"chain_{k}.ecsv") for k in range(len(images))]
            ours = [str(executable), "reconstruct", *map(str, images), "-o", os.path.join(tmp, "many") + "/",
                    "--overwrite", "--no-progress", "--pb", args.pb]  # fmt: skip
            theirs = [sys.executable, __file__, "--chain", ",".join(map(str, images)), ",".join(psfs), args.pb,
                      ",".join(outputs)]  # fmt: skip
            results = {f"astro-i2i reconstruct, {len(images)} images (K = 10)": [],
                       f"CLEAN (radler) + PyBDSF, {len(images)} images": []}  # fmt: skip
            for run in range(max(1, args.runs // 2)):
                for (name, times), command in zip(results.items(), (ours, theirs)):
                    wall, cpu = _timed(command)
                    times.append((wall / len(images), cpu / len(images)))
                    print(f"batch run {run + 1}: {name}: {wall:.2f} s wall", flush=True)
            _report(results, f"{len(images)} images in one process each way, per image")


def _report(results, title):
    medians = {name: (statistics.median(t[0] for t in times), statistics.median(t[1] for t in times))
               for name, times in results.items()}  # fmt: skip
    print(f"\n{title}, {os.cpu_count()} CPU(s):")
    for name, (wall, cpu) in medians.items():
        print(f"  {name}: median {wall:.2f} s wall, {cpu:.2f} s CPU")
    (ours_wall, _), (theirs_wall, _) = medians.values()
    print(f"  ratio astro-i2i / classical chain: {ours_wall / theirs_wall:.2f} (target <= 0.5)", flush=True)


if __name__ == "__main__":
    main()
