"""Issue 5's figures for trained models, on freshly simulated test images.

Usage: python benchmarks/evaluate_models.py [N] [SEED] [--mse MSE.pt] [--two-to-one MODEL.pt] [--no-generation]

Defaults: 500 images, seed 2000000 (training draws seeds 1 and 2 on the fly,
validation uses 1000000), the shipped models. Prints, for each model and
mode, purity / completeness / F1 and the fraction of matched fluxes within
20 %; for the 2-to-1 model also the distance correlation between the encoded
style and the sky on the test images (in batches of 50), and the generation
check: the per-pixel standard deviation over N dirty images generated from
random (sky, style) pairs against the same map over the N simulated dirty
images (median relative difference inside the primary-beam limit).
"""

import argparse
import time

import numpy as np
import torch

from astro_i2i.inference import Reconstructor
from astro_i2i.models import distance_correlation
from astro_i2i.simulate import SimulationConfig
from astro_i2i.training import beam_area_pixels, evaluate_model, validation_set

parser = argparse.ArgumentParser()
parser.add_argument("n", nargs="?", type=int, default=500)
parser.add_argument("seed", nargs="?", type=int, default=2_000_000)
parser.add_argument("--mse", default="mse")
parser.add_argument("--two-to-one", default="two_to_one")
parser.add_argument("--no-generation", action="store_true")
args = parser.parse_args()

start = time.perf_counter()
simulation = SimulationConfig()
images, truth = validation_set(simulation, args.n, args.seed)
print(f"{args.n} test images (seed {args.seed}), {len(truth)} sources, simulated in {time.perf_counter() - start:.0f} s")
print(f"{'model':<12} {'mode':<8} {'P':>7} {'C':>7} {'F1':>7} {'flux<=20%':>10} {'threshold':>10} {'s/image':>8}")


def score(reconstructor, label, samples):
    inference = reconstructor.info["inference"]
    key = "detection_nsigma_samples" if samples > 1 else "detection_nsigma"
    nsigma = inference.get(key, inference.get("detection_nsigma"))
    begin = time.perf_counter()
    result = evaluate_model(reconstructor.model, reconstructor.normalisation, images, truth,
                            beam_area_pixels=beam_area_pixels(reconstructor.info["simulation"]), samples=samples,
                            sigma_style=inference.get("sigma_style", 0.0), detection_nsigma=nsigma)  # fmt: skip
    per_image = (time.perf_counter() - begin) / len(images)
    mode = "direct" if samples == 1 else f"K={samples}"
    print(f"{label:<12} {mode:<8} {100 * result['purity']:7.2f} {100 * result['completeness']:7.2f} "
          f"{100 * result['f1']:7.2f} {100 * result['flux_within_20_percent']:9.1f}% {nsigma:10.3g} {per_image:8.2f}")  # fmt: skip
    if "coverage" in result:
        print(f"{'':<12} {'':<8} coverage of mean +- 1.96 sigma: {100 * result['coverage']:.1f} %")


def network_tensors(reconstructor, indices):
    norm = reconstructor.normalisation
    dirty = np.stack([np.nan_to_num(images[i]["dirty"]) for i in indices])[:, None].astype(np.float32)
    sky = np.stack([images[i]["sky"] for i in indices])[:, None].astype(np.float32)
    x = norm.to_network_grid(torch.from_numpy(norm.dirty_to_network(dirty)), kind="dirty")
    c = norm.sky_to_network(norm.to_network_grid(torch.from_numpy(sky), kind="sky"))
    return x, c


mse = Reconstructor.from_pretrained(args.mse)
score(mse, "mse", 1)
model = Reconstructor.from_pretrained(args.two_to_one)
score(model, "2-to-1", 1)
score(model, "2-to-1", 10)

with torch.no_grad():
    values = []
    for first in range(0, args.n - 49, 50):
        x, c = network_tensors(model, range(first, first + 50))
        style = model.model.encode_style(c, x)
        values.append(float(distance_correlation(style.flatten(1), c.flatten(1))))
    print(f"distance correlation (style, sky), {len(values)} batches of 50: mean {np.mean(values):.3f}, "
          f"max {np.max(values):.3f}")  # fmt: skip

    if not args.no_generation:
        norm = model.normalisation
        blank = ~np.isfinite(images[0]["dirty"])
        simulated = np.stack([images[i]["dirty"] for i in range(args.n)])
        generated = []
        for first in range(0, args.n, 25):
            indices = list(range(first, min(args.n, first + 25)))
            x, c = network_tensors(model, indices)
            partners = [(i * 7 + 3) % args.n for i in indices]  # another image's style: a random pairing
            xs, cs = network_tensors(model, partners)
            style = model.model.encode_style(cs, xs)
            out = model.model.generate(c, style)
            out = torch.nn.functional.interpolate(out, size=simulated.shape[-2:], mode="bicubic")
            generated.append(norm.dirty_from_network(out[:, 0]).numpy())
        generated = np.concatenate(generated)
        std_sim = np.nanstd(simulated, axis=0)
        std_gen = np.std(generated, axis=0)
        inside = ~blank & np.isfinite(std_sim)
        relative = np.abs(std_gen[inside] - std_sim[inside]) / std_sim[inside]
        print(f"generation: per-pixel std over {args.n} generated vs simulated dirty images: median relative "
              f"difference {100 * np.median(relative):.1f} % (median std {1e6 * np.median(std_gen[inside]):.1f} vs "
              f"{1e6 * np.median(std_sim[inside]):.1f} uJy/beam)")  # fmt: skip
print(f"total {time.perf_counter() - start:.0f} s")
