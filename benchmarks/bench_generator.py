"""Throughput of the in-memory training generator and of the exact FITS path.

Usage: python benchmarks/bench_generator.py [N]
"""

import os
import sys
import time

import numpy as np

from astro_i2i.simulate import SimulationConfig, TrainingPairs, simulate_image

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
start = time.perf_counter()
pairs = TrainingPairs(seed=0)
setup = time.perf_counter() - start
for _ in range(5):
    pairs.sample()
start = time.perf_counter()
for _ in range(n):
    pairs.sample()
rate = n / (time.perf_counter() - start)
print(f"machine: {cores} cores")
print(f"TrainingPairs: set-up {setup:.2f} s, {rate:.1f} pairs/s over {n} pairs (512x512, FFT path + noise bank)")

config, rng = SimulationConfig(), np.random.default_rng(0)
start = time.perf_counter()
for _ in range(10):
    simulate_image(config, rng)
print(f"simulate_image (exact ducc0 gridding, new uv coverage each): {10 / (time.perf_counter() - start):.1f} images/s")
