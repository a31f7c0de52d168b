"""Speed and memory of `astro_i2i.Reconstructor` (issue 6's targets).

Usage: python benchmarks/bench_reconstruct.py [--model NAME|PATH] [--device cpu|cuda] [--repeat 5]

Prints the model load time; the wall time for one 512x512 image in direct mode
(K = 1) and with K = 10 (median of ``--repeat`` runs after a warm-up, network
and catalogue included); and, in a fresh process, the total time and peak
resident memory for a 4096x4096 image (the shipped example dirty image tiled
8 x 8), K = 1. On a GPU it also prints tiles per second.
"""

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from astro_i2i.data import example_path
from astro_i2i.reconstruct import TILE_MARGIN_FRACTION, Reconstructor, tile_starts

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=None)
parser.add_argument("--device", default="cpu")
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--big", action="store_true", help="(internal) only the 4096x4096 case")
args = parser.parse_args()


def big_image():
    from astro_i2i.io import read_image

    image = read_image(example_path("dirty"))
    header = image.wcs.to_header()
    header.update(image.beam.to_header_keywords())
    header["BUNIT"] = "Jy/beam"
    header["CRPIX1"], header["CRPIX2"] = 2049.0, 2049.0
    return np.tile(image.data.astype(np.float32), (8, 8)), header


if args.big:
    data, header = big_image()
    reconstructor = Reconstructor.from_pretrained(args.model, device=args.device)
    start = time.perf_counter()
    result = reconstructor.reconstruct((data, header), samples=1, seed=0)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"4096x4096, K = 1: {elapsed:.1f} s, {len(result.catalog)} sources, peak resident memory {peak:.2f} GB")
    sys.exit(0)

print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
start = time.perf_counter()
reconstructor = Reconstructor.from_pretrained(args.model, device=args.device)
print(f"model {reconstructor.name}: load {time.perf_counter() - start:.2f} s")
dirty = example_path("dirty")
from astro_i2i.io import read_image  # noqa: E402

image = read_image(dirty)
for samples in (1, 10):
    reconstructor.reconstruct(image, samples=samples, seed=0)  # warm-up
    times = []
    for repeat in range(args.repeat):
        begin = time.perf_counter()
        reconstructor.reconstruct(image, samples=samples, seed=repeat)
        times.append(time.perf_counter() - begin)
    print(f"512x512, K = {samples:2d}: median {np.median(times):.3f} s (min {min(times):.3f}) over {args.repeat} runs")
if args.device.startswith("cuda"):
    from astro_i2i.reconstruct import reconstruct_array  # noqa: E402

    # A 2048 x 2048 field: the tiles the network runs on, counted as the tiling lays them (overlap 3 margins).
    field = np.zeros((4 * 512, 4 * 512), np.float32)
    for _ in range(2):
        begin = time.perf_counter()
        reconstruct_array(reconstructor.model, reconstructor.normalisation, field, samples=1, sigma_style=0.0, seed=0,
                          tile=reconstructor.tile, batch_size=16, device=args.device)  # fmt: skip
        torch.cuda.synchronize()
    tiles = len(tile_starts(field.shape[0], reconstructor.tile, 3 * int(reconstructor.tile * TILE_MARGIN_FRACTION))) ** 2
    print(f"GPU: {tiles / (time.perf_counter() - begin):.0f} tiles/s (512x512, K = 1, batch 16)")
command = [sys.executable, __file__, "--big", "--device", args.device] + (["--model", args.model] if args.model else [])
subprocess.run(command, check=True)
