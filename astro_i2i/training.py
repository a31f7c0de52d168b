"""Training the MSE baseline and the 2-to-1 model on simulated data (needs torch).

Data come on the fly from `~astro_i2i.simulate.TrainingPairs`; a fixed-seed
validation set (simulated exactly as ``astro-i2i simulate`` writes images) is
scored by catalogue F1 every ``validation.every`` steps; the best model is kept
as a self-describing checkpoint (`astro_i2i.models.save_checkpoint`), and the
training state is saved beside it (``<output>.state.pt``) so that ``--resume``
goes on where it stopped. A JSON-lines log is written to ``<output>.log.jsonl``.
"""

import dataclasses
import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from astropy import units as u
from torch.nn import functional as nnf

from ._atomic import atomic_output, check_output_path
from ._yaml import read_yaml
from ._version import __version__
from .catalog import find_sources, sky_model_threshold
from .exceptions import InputError
from .inference import reconstruct_sky
from .io import fit_psf_beam
from .metrics import score_catalogs, uncertainty_calibration
from .models import ARCHITECTURES, Normalisation, distance_correlation, load_checkpoint, save_checkpoint
from .simulate import Observation, SimulationConfig, TrainingPairs, image_wcs, simulate_image, truth_rows

__all__ = ["TrainingConfig", "train", "validation_set", "evaluate_model", "calibrate_sigma_style",
           "calibrate_checkpoint", "beam_area_pixels"]

SAMPLES = 10  #: style samples for the uncertainty map
SIGMA_STYLE_GRID = (0.01, 0.02, 0.03, 0.05, 0.1, 0.125, 0.15, 0.175, 0.2, 0.3, 0.5, 1.0, 2.0)
#: Detection thresholds tried on validation data (`~astro_i2i.catalog.sky_model_threshold`).
DETECTION_NSIGMA_GRID = (0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
CALIBRATION_IMAGES = 200  #: images on which a trained model's thresholds are chosen
CALIBRATION_SEED = 1_500_000  #: disjoint from training (1, 2), validation (1e6) and the benchmarks' test seeds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """A training run, loadable from YAML (unknown keys are errors).

    Sections: ``model`` (``architecture`` plus the constructor's keyword
    arguments), ``normalisation``, ``simulation`` (overrides of
    `~astro_i2i.simulate.SimulationConfig`), ``data``, ``optimisation``,
    ``losses`` and ``validation``.
    """

    model: dict = field(default_factory=lambda: {"architecture": "two_to_one"})
    normalisation: dict = field(default_factory=dict)
    simulation: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    optimisation: dict = field(default_factory=dict)
    losses: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)

    DEFAULTS = {
        "data": {"crop": 128, "crops_per_image": 4, "seed": 1, "n_pointings": 2},
        "optimisation": {"steps": 2000, "batch_size": 8, "learning_rate": 2e-3, "checkpoint_every": 100,
                         "threads": 0},
        "losses": {"content": 1.0, "composite": 1.0, "direct": 1.0, "style_fit": 1.0, "distance_correlation": 0.1},
        "validation": {"every": 500, "n_images": 40, "seed": 1_000_000, "calibration_images": CALIBRATION_IMAGES,
                       "calibration_seed": CALIBRATION_SEED},
    }  # fmt: skip

    def __post_init__(self):
        for section, defaults in self.DEFAULTS.items():
            given = getattr(self, section)
            unknown = set(given) - set(defaults)
            if unknown:
                raise InputError("training config", f"unknown key(s) {sorted(unknown)} in '{section}'")
            object.__setattr__(self, section, {**defaults, **given})
        architecture = self.model.get("architecture")
        if architecture not in ARCHITECTURES:
            raise InputError("training config", f"model.architecture {architecture!r} not in {sorted(ARCHITECTURES)}")
        if (architecture == "two_to_one" and self.losses["distance_correlation"] > 0
                and self.optimisation["batch_size"] < 4):  # fmt: skip
            raise InputError("training config", "optimisation.batch_size must be >= 4 for the distance correlation")
        Normalisation(**self.normalisation)
        SimulationConfig.from_dict(self.simulation, source="training config: simulation")

    @classmethod
    def from_yaml(cls, path):
        values = read_yaml(path) or {}
        if not isinstance(values, dict):
            raise InputError(path, "a training config must be a mapping of sections")
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InputError(path, f"unknown section(s) {sorted(unknown)}")
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(path, exc.problem) from None
        except TypeError as exc:
            raise InputError(path, str(exc)) from None

    def to_dict(self):
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def build_model(self):
        kwargs = {k: v for k, v in self.model.items() if k != "architecture"}
        return ARCHITECTURES[self.model["architecture"]](**kwargs)


def _batches(config, simulation, normalisation, seed):
    """Endless batches of (dirty, sky) crops as normalised tensors (N, 1, crop, crop)."""
    pairs = TrainingPairs(simulation, seed=seed, n_pointings=config.data["n_pointings"])
    rng = np.random.default_rng(seed + 1)
    crop, size = config.data["crop"], simulation.image.size
    # Crop centres over the whole primary-beam disc: the network must also see its blanked edge.
    radius = np.sqrt((~pairs.observations[0].blank_mask).sum() / np.pi)
    batch_size, per_image = config.optimisation["batch_size"], config.data["crops_per_image"]
    while True:
        dirty_batch, sky_batch = [], []
        while len(dirty_batch) < batch_size:
            sample = pairs.sample()
            dirty = np.nan_to_num(sample["dirty"])
            for _ in range(per_image):
                r, angle = radius * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
                cx = int(np.clip(size / 2 + r * np.cos(angle) - crop / 2, 0, size - crop))
                cy = int(np.clip(size / 2 + r * np.sin(angle) - crop / 2, 0, size - crop))
                window = (slice(cy, cy + crop), slice(cx, cx + crop))
                dirty_batch.append(dirty[window])
                sky_batch.append(sample["sky"][window])
        dirty_t = normalisation.to_network_grid(
            torch.from_numpy(np.stack(dirty_batch[:batch_size])[:, None].astype(np.float32)), kind="dirty")
        sky_t = normalisation.to_network_grid(
            torch.from_numpy(np.stack(sky_batch[:batch_size])[:, None].astype(np.float32)), kind="sky")
        yield normalisation.dirty_to_network(dirty_t), normalisation.sky_to_network(sky_t)


def _loss(model, config, dirty, sky):
    """Total loss and its parts."""
    weights = config.losses
    if model.architecture == "mse_unet":
        loss = nnf.mse_loss(model.reconstruct(dirty), sky)
        return loss, {"content": float(loss.detach())}
    style = model.encode_style(sky, dirty)
    parts = {
        "content": nnf.mse_loss(model.reconstruct(dirty, style), sky),
        "composite": nnf.mse_loss(model.generate(sky, style), dirty),
        "style_fit": nnf.mse_loss(model.estimate_style(dirty), style.detach()),
        "distance_correlation": distance_correlation(style, sky, squared=True),
    }
    if weights["direct"] > 0:
        parts["direct"] = nnf.mse_loss(model.reconstruct(dirty), sky)
    total = sum(weights[name] * value for name, value in parts.items())
    return total, {name: float(value.detach()) for name, value in parts.items()}


def validation_set(simulation, n_images, seed):
    """Fixed validation images: list of ``simulate_image`` results and the truth table."""
    from astropy.table import Table

    images, columns = [], {}
    for i in range(n_images):
        result = simulate_image(simulation, np.random.default_rng([seed, i]))
        for key, values in truth_rows(i, result["sources"], result["wcs"], simulation).items():
            columns.setdefault(key, []).append(values)
        images.append({"dirty": result["dirty"], "sky": result["sky"], "wcs": result["wcs"], "psf": result["psf"]})
    return images, Table({key: np.concatenate(values) for key, values in columns.items()})


def beam_area_pixels(simulation_record):
    """The synthesized beam's area in pixels, from a checkpoint's ``simulation`` record."""
    bmaj, bmin = simulation_record["beam"][:2]
    return float(np.pi / (4 * np.log(2)) * bmaj * bmin / simulation_record["image"]["pixel_scale_arcsec"] ** 2)


def evaluate_model(model, normalisation, images, truth, *, beam_area_pixels, samples=1, sigma_style=0.0,
                   detection_nsigma=None, device="cpu"):  # fmt: skip
    """Catalogue F1 (and flux accuracy) of a model on simulated images; dict of figures.

    Sources are found in the reconstructed sky (the mean of ``samples``
    reconstructions) above `~astro_i2i.catalog.sky_model_threshold`. With
    ``detection_nsigma=None`` every value of `DETECTION_NSIGMA_GRID` is tried
    and the one with the best F1 is reported (as ``detection_nsigma``).
    """
    reconstructions, coverage = [], []
    for i, image in enumerate(images):
        mean, std = reconstruct_sky(model, normalisation, image["dirty"], samples=samples, sigma_style=sigma_style,
                                    seed=i, device=device)  # fmt: skip
        reconstructions.append(mean)
        if samples > 1:
            coverage.append(uncertainty_calibration(mean, std, image["sky"])["coverage"])
    grid = DETECTION_NSIGMA_GRID if detection_nsigma is None else (detection_nsigma,)
    results = []
    for nsigma in grid:
        detections = {
            i: find_sources(mean, image["wcs"],
                            threshold=sky_model_threshold(image["dirty"], beam_area_pixels, nsigma=nsigma))
            for i, (mean, image) in enumerate(zip(reconstructions, images))
        }  # fmt: skip
        score = score_catalogs(detections, truth)
        results.append({"purity": score.purity, "completeness": score.completeness, "f1": score.f1,
                        "flux_within_20_percent": score.flux_within_20_percent, "n_images": len(images),
                        "detection_nsigma": float(nsigma)})  # fmt: skip
    result = max(results, key=lambda r: np.nan_to_num(r["f1"]))
    if coverage:
        result["coverage"] = float(np.mean(coverage))
    return result


def calibrate_sigma_style(model, normalisation, images, *, samples=SAMPLES, target=0.95, grid=SIGMA_STYLE_GRID,
                          device="cpu"):  # fmt: skip
    """The style perturbation whose uncertainty map is best calibrated on ``images``.

    For each ``sigma_style`` in ``grid``, the coverage (fraction of true pixel
    values within mean +- 1.96 std of ``samples`` reconstructions, inside the
    primary-beam limit) is measured; the value closest to ``target`` wins.

    Returns
    -------
    sigma_style : float
    table : list of (sigma_style, coverage)
    """
    table = []
    for sigma in grid:
        coverage = []
        for i, image in enumerate(images):
            mean, std = reconstruct_sky(model, normalisation, image["dirty"], samples=samples, sigma_style=sigma,
                                        seed=i, device=device)  # fmt: skip
            coverage.append(uncertainty_calibration(mean, std, image["sky"])["coverage"])
        table.append((float(sigma), float(np.mean(coverage))))
    best = min(table, key=lambda row: abs(row[1] - target))
    return best[0], table


def calibrate_checkpoint(path, output, *, n_images=CALIBRATION_IMAGES, seed=CALIBRATION_SEED, device="cpu",
                         overwrite=False, log=None):  # fmt: skip
    """Choose a trained model's inference settings on a calibration set and store them in its checkpoint.

    ``n_images`` images are simulated as the model's training data were
    (``numpy.random.default_rng([seed, i])``; the seed must differ from the
    training, validation and test seeds). The detection threshold of the
    direct mode is the ``nsigma`` of `DETECTION_NSIGMA_GRID` with the best F1;
    for a 2-to-1 model, ``sigma_style`` is chosen on a quarter of the images
    (`calibrate_sigma_style`) and then the threshold for K = `SAMPLES`. The
    30-odd validation images of a training run are too few to pick a
    threshold: for the MSE baseline they chose 0.3 (F1 26.0 on 500 test
    images), 200 calibration images chose 0.5 (F1 27.7).

    Parameters
    ----------
    path : str or path-like
        The checkpoint to calibrate.
    output : str or path-like
        Where to write the calibrated checkpoint (may be ``path`` itself, with
        ``overwrite=True``).
    n_images : int, optional
    seed : int, optional
    device : str, optional
    overwrite : bool, optional
    log : callable, optional
        Called with a dict of the figures (the training log).

    Returns
    -------
    calibration : dict
        What was stored under the checkpoint's ``metrics['calibration']``.
    """
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 4:
        raise ValueError(f"n_images must be an integer >= 4, not {n_images!r}")
    output = check_output_path(output, overwrite=overwrite)
    model, info = load_checkpoint(path, device=device)
    normalisation, record = info["normalisation"], info["simulation"]
    simulation = SimulationConfig.from_dict({k: v for k, v in record.items() if k != "beam"})
    images, truth = validation_set(simulation, int(n_images), int(seed))
    beam_pixels = beam_area_pixels(record)
    direct = evaluate_model(model, normalisation, images, truth, beam_area_pixels=beam_pixels, device=device)
    logger.info("calibration, direct: F1 %.4f at %g sigma (%d images)", direct["f1"], direct["detection_nsigma"],
                n_images)  # fmt: skip
    calibration = {"n_images": int(n_images), "seed": int(seed), "direct": direct}
    inference = {**info["inference"], "detection_nsigma": direct["detection_nsigma"]}
    if model.architecture == "two_to_one":
        sigma, table = calibrate_sigma_style(model, normalisation, images[: max(1, len(images) // 4)], device=device)
        logger.info("calibration: sigma_style %.3g gives coverage %.3f", sigma, dict(table)[sigma])
        sampled = evaluate_model(model, normalisation, images, truth, beam_area_pixels=beam_pixels,
                                 samples=SAMPLES, sigma_style=sigma, device=device)  # fmt: skip
        logger.info("calibration, K = %d: F1 %.4f at %g sigma", SAMPLES, sampled["f1"], sampled["detection_nsigma"])
        calibration.update({"sigma_style": sigma, "coverage_by_sigma_style": table, "samples": sampled})
        inference.update({"sigma_style": sigma, "samples": SAMPLES,
                          "detection_nsigma_samples": sampled["detection_nsigma"]})  # fmt: skip
    if log is not None:
        log({"calibration": calibration})
    metrics = {k: v for k, v in info["metrics"].items() if k not in ("validation_samples", "coverage_by_sigma_style")}
    save_checkpoint(output, model, normalisation=normalisation, simulation=record, training=info["training"],
                    metrics={**metrics, "calibration": calibration}, inference=inference,
                    overwrite=True)  # fmt: skip
    return calibration


def _improves(metrics, best):
    """Whether a validation result beats the best so far (an F1 of NaN, nothing found, counts as 0)."""
    return float(np.nan_to_num(metrics["f1"])) > float(np.nan_to_num(best["f1"]))


def _simulation_record(simulation):
    """What the model was trained on, beam included, for its checkpoint."""
    record = simulation.to_dict()
    dec = simulation.pointing.dec_deg
    beam = fit_psf_beam(Observation(simulation, dec).psf(), image_wcs(simulation, simulation.pointing.ra_deg, dec))
    record["beam"] = [beam.major.to_value(u.arcsec), beam.minor.to_value(u.arcsec), beam.pa.to_value(u.deg)]
    return record


def train(config, output, *, resume=False, device="cpu", overwrite=False, progress=True):
    """Train a model and write its best checkpoint to ``output``.

    Parameters
    ----------
    config : `TrainingConfig`
    output : str or path-like
        The checkpoint; the training state goes to ``<output>.state.pt`` and
        the log to ``<output>.log.jsonl``.
    resume : bool
        Continue from ``<output>.state.pt``.
    device : str
    overwrite : bool
        Start afresh even if ``output`` exists.
    progress : bool
        Show a tqdm progress bar with the loss and the ETA.

    Returns
    -------
    metrics : dict
        The best validation figures.
    """
    output = Path(output)
    state_path = output.with_name(output.name + ".state.pt")
    log_path = output.with_name(output.name + ".log.jsonl")
    if resume:
        if not state_path.exists():
            raise InputError(state_path, "no training state to resume from")
    else:
        check_output_path(output, overwrite=overwrite)
        check_output_path(state_path, overwrite=True)
    if config.optimisation["threads"]:
        torch.set_num_threads(int(config.optimisation["threads"]))
    simulation = SimulationConfig.from_dict(config.simulation)
    normalisation = Normalisation(**config.normalisation)
    model = config.build_model().to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.optimisation["learning_rate"])
    steps = int(config.optimisation["steps"])
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.optimisation["learning_rate"],
                                                    total_steps=steps, pct_start=0.05)  # fmt: skip
    step, elapsed, best = 0, 0.0, {"f1": -1.0}
    if resume:
        state = torch.load(state_path, map_location=device, weights_only=True)
        if state["config"] != json.loads(json.dumps(config.to_dict())):
            raise InputError(state_path, "was written for a different training config")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        step, elapsed, best = state["step"], state["elapsed"], state["best"]
        logger.info("resuming at step %d of %d", step, steps)
    if not resume:
        with atomic_output(log_path, overwrite=True) as tmp:
            tmp.write_text("")

    first_step = step
    validation = config.validation
    images, truth = validation_set(simulation, int(validation["n_images"]), int(validation["seed"]))
    batches = _batches(config, simulation, normalisation, seed=int(config.data["seed"]) + 7919 * step)
    record = _simulation_record(simulation)
    beam_pixels = beam_area_pixels(record)
    hardware = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, {device}"

    def save_state():
        payload = {"config": json.loads(json.dumps(config.to_dict())), "model": model.state_dict(),
                   "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
                   "elapsed": elapsed, "best": best}  # fmt: skip
        with atomic_output(state_path, overwrite=True) as tmp:
            torch.save(payload, tmp)

    def log(entry):
        with open(log_path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=step, desc="training", unit="step", dynamic_ncols=True)
    model.train()
    started = time.perf_counter() - elapsed
    while step < steps:
        dirty, sky = next(batches)
        loss, parts = _loss(model, config, dirty.to(device), sky.to(device))
        if not torch.isfinite(loss):
            raise RuntimeError(f"training diverged at step {step}: loss {float(loss.detach())} ({parts})")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        for network in model.children():  # each network on its own: the sky's small MSE must not be
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)  # clipped away by the style losses
        optimiser.step()
        scheduler.step()
        step += 1
        elapsed = time.perf_counter() - started
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        if step % 20 == 0:
            log({"step": step, "time_s": round(elapsed, 1), "loss": float(loss.detach()), **parts})
        if step % int(validation["every"]) == 0 or step == steps:
            model.eval()
            metrics = evaluate_model(model, normalisation, images, truth, beam_area_pixels=beam_pixels, device=device)
            model.train()
            log({"step": step, "time_s": round(elapsed, 1), "validation": metrics})
            logger.info("step %d: validation F1 %.4f (P %.4f, C %.4f; threshold %g sigma)", step, metrics["f1"],
                        metrics["purity"], metrics["completeness"], metrics["detection_nsigma"])  # fmt: skip
            if _improves(metrics, best):
                best = {**metrics, "step": step}
                save_checkpoint(output, model, normalisation=normalisation, simulation=record,
                                training={"steps": step, "time_s": elapsed, "hardware": hardware,
                                          "config": config.to_dict(), "torch": torch.__version__},
                                metrics={"validation": best},
                                inference={"detection_nsigma": best["detection_nsigma"]}, overwrite=True)  # fmt: skip
        if step % int(config.optimisation["checkpoint_every"]) == 0 or step == steps:
            save_state()
    if bar is not None:
        bar.close()
    if output.exists() and first_step < steps:
        calibrate_checkpoint(output, output, n_images=int(validation["calibration_images"]),
                             seed=int(validation["calibration_seed"]), device=device, overwrite=True,
                             log=log)  # fmt: skip
    logger.info("best validation F1 %.4f at step %d -> %s (%s)", best["f1"], best.get("step", 0), output, __version__)
    return best
