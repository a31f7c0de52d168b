"""How fast could ``astro-i2i reconstruct`` be as a process without torch? (issue 26, item 7's second design)

Usage: pip install onnx onnxruntime; python benchmarks/studies/torch_free_floor.py [--runs 5] [--image DIRTY]

The first design (imports deferred until needed, docs/reconstruct.rst) left a ratio of 1.58 against CLEAN
(radler) + PyBDSF, with ``import torch`` alone longer than half the chain. This study bounds the second design,
inference without torch: the shipped 2-to-1 model's sampling graph (style estimator, the K perturbed styles as an
input, content generator) exported to ONNX and run by ONNX Runtime. It times, as fresh processes, alternately,
after one warm-up each:

- the floor's imports alone (numpy, astropy's fits, wcs and table, scipy's fft and ndimage, onnxruntime);
- ``floor``: the least a torch-free reconstruct does -- import numpy, astropy (fits, wcs, table), scipy's fft and
  ndimage and onnxruntime; read the dirty image and its WCS; open the ONNX model; run K = 10 on the image's
  network grid; write the mean and spread as a FITS file. No checks, no catalogue, no primary beam;
- ``astro-i2i reconstruct`` as shipped (K = 10, with ``--psf`` and ``--pb``), as ``benchmarks/bench_cli.py``;
- the classical chain, CLEAN (radler) + PyBDSF, as ``benchmarks/bench_cli.py --chain``.

It also times, in this process with everything imported, the shipped reconstruct's work (the CLI command) and its
network and checkpoint-load parts, and prints the ratio a torch-free reconstruct would reach: the floor plus the
rest of the work (the work less the network and the checkpoint's load, which the floor already does).
The ONNX graph is checked against torch on the same input and noise first.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "casa"
BENCH_CLI = Path(__file__).resolve().parents[1] / "bench_cli.py"
SAMPLES = 10

IMPORTS = textwrap.dedent("""
    import sys
    import numpy as np
    import astropy.table, scipy.fft, scipy.ndimage
    from astropy.io import fits
    from astropy.wcs import WCS
    import onnxruntime as ort
""")
FLOOR = IMPORTS + textwrap.dedent("""
    model, image, eps, out, scale, down = sys.argv[1:7]
    scale, down = float(scale), int(down)
    with fits.open(image) as hdul:
        header, dirty = hdul[0].header, np.squeeze(hdul[0].data).astype(np.float32)
    wcs = WCS(header).celestial
    h, w = dirty.shape
    x = np.nan_to_num(dirty / scale).reshape(1, 1, h // down, down, w // down, down).mean(axis=(3, 5))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    sky, style = session.run(None, {"x": x.astype(np.float32), "eps": np.load(eps)})
    def bicubic(n, m):  # torch's bicubic (a = -0.75, align_corners=False) as an (m, n) matrix
        t = (np.arange(m) + 0.5) * n / m - 0.5
        i0 = np.floor(t).astype(int)
        matrix = np.zeros((m, n))
        for k in range(-1, 3):
            d = np.abs(t - (i0 + k))
            weight = np.where(d <= 1, (1.25 * d - 2.25) * d * d + 1, ((-0.75 * d + 3.75) * d - 6) * d + 3)
            np.add.at(matrix, (np.arange(m), np.clip(i0 + k, 0, n - 1)), weight)
        return matrix
    rows, cols = bicubic(h // down, h), bicubic(w // down, w)
    sky = rows @ sky[:, 0] @ cols.T / down**2
    fits.HDUList([fits.PrimaryHDU(sky.mean(axis=0), header=wcs.to_header()),
                  fits.ImageHDU(sky.std(axis=0))]).writeto(out, overwrite=True)
""")


def _export(directory, image):
    """The shipped model's K-sample graph as ONNX, its inputs for ``image``, and the largest torch/ONNX difference."""
    import onnxruntime as ort
    import torch
    from astropy.io import fits

    from astro_i2i.data import model_path
    from astro_i2i.models import load_checkpoint

    model, card = load_checkpoint(model_path("two_to_one"))
    model.eval()
    normalisation = card.normalisation
    sigma = card.inference.sigma_style

    class Sampler(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x, eps):
            centre = self.model.estimate_style(x)
            return self.model.reconstruct(x.expand(eps.shape[0], -1, -1, -1), centre + eps), centre

    dirty = np.nan_to_num(np.squeeze(fits.getdata(image)).astype(np.float32))
    x = normalisation.to_network_grid(torch.from_numpy(normalisation.dirty_to_network(dirty))[None, None],
                                      kind="dirty")  # fmt: skip
    style_size = [s // model.style_factor for s in x.shape[-2:]]
    eps = sigma * torch.randn(SAMPLES, model.style_channels, *style_size, generator=torch.Generator().manual_seed(0))
    path = os.path.join(directory, "two_to_one.onnx")
    sampler = Sampler(model)
    torch.onnx.export(sampler, (x, eps), path, dynamo=False, input_names=["x", "eps"],
                      output_names=["sky", "style"], opset_version=17)  # fmt: skip
    with torch.no_grad():
        reference = sampler(x, eps)[0].numpy()
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x.numpy(), "eps": eps.numpy()})[0]
    np.save(os.path.join(directory, "eps.npy"), eps.numpy())
    return path, normalisation, float(np.abs(got - reference).max() / np.abs(reference).max())


def _timed(command):
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"{command[:3]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def _work_in_process(command):
    """Seconds of the CLI command's work with its imports paid, and of its network and checkpoint load."""
    import cProfile
    import pstats

    from astro_i2i.cli import main

    def run():
        try:
            main(command)
        except SystemExit:
            pass

    run()  # imports, caches
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(run)
    total = time.perf_counter() - start
    stats = pstats.Stats(profile).stats
    part = {name: sum(v[3] for (f, _, fn), v in stats.items() if fn == name and f.endswith(where))
            for name, where in (("_network_samples", "reconstructor.py"), ("load_checkpoint", "checkpoint.py"))}
    return total, part["_network_samples"], part["load_checkpoint"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default=str(REFERENCE / "dirty_000.fits"))
    args = parser.parse_args()
    image = args.image
    psf, pb = image.replace("dirty_", "psf_"), image.replace("dirty_", "pb_")
    executable = Path(sys.executable).with_name("astro-i2i")
    with tempfile.TemporaryDirectory() as tmp:
        model, normalisation, difference = _export(tmp, image)
        print(f"ONNX graph against torch (same input and noise): largest difference {difference:.1e} of the peak")
        commands = {
            "its imports alone": [sys.executable, "-c", IMPORTS],
            "torch-free floor (read, ONNX Runtime K = 10, write)": [
                sys.executable, "-c", FLOOR, model, image, os.path.join(tmp, "eps.npy"),
                os.path.join(tmp, "floor.fits"), str(normalisation.dirty_scale), str(normalisation.downsample)],
            "astro-i2i reconstruct (K = 10)": [
                str(executable), "reconstruct", image, "--psf", psf, "--pb", pb, "-o",
                os.path.join(tmp, "i2i.fits"), "--overwrite", "--no-progress"],
            "CLEAN (radler) + PyBDSF": [
                sys.executable, str(BENCH_CLI), "--chain", image, psf, pb, os.path.join(tmp, "chain.ecsv")],
        }  # fmt: skip
        for command in commands.values():
            _timed(command)  # warm-up
        times = {name: [] for name in commands}
        for run in range(args.runs):
            for name, command in commands.items():
                times[name].append(_timed(command))
                print(f"run {run + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
        work, network, load = _work_in_process(commands["astro-i2i reconstruct (K = 10)"][1:])
    medians = {name: statistics.median(t) for name, t in times.items()}
    imports, floor, ours, chain = medians.values()
    print(f"\n{Path(image).name}, {args.runs} runs each, {os.cpu_count()} CPU(s), medians:")
    for name, value in medians.items():
        print(f"  {name:52s} {value:.2f} s   ratio to the chain {value / chain:.2f}")
    rest = work - network - load
    print(f"  reconstruct's work with its imports paid: {work:.2f} s, of which the network {network:.2f} s and the "
          f"checkpoint's load {load:.2f} s; the rest (checks, bright-emission test, catalogue, product) {rest:.2f} s")
    print(f"  a torch-free reconstruct: at least floor + rest = {floor + rest:.2f} s, ratio {(floor + rest) / chain:.2f}"
          f" (target <= 0.5: {0.5 * chain:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
