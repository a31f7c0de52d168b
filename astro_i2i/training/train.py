"""Training the MSE baseline and the 2-to-1 model on simulated data (needs torch).

Data come on the fly from `~astro_i2i.simulate.TrainingPairs`; a fixed-seed
validation set (simulated exactly as ``astro-i2i simulate`` writes images) is
scored by catalogue F1 every ``validation.every`` steps; the best model is kept
as a self-describing checkpoint (`astro_i2i.models.save_checkpoint`), and the
training state is saved beside it (``<output>.state.pt``) so that ``--resume``
goes on where it stopped. A JSON-lines log is written to ``<output>.log.jsonl``.
"""

import json
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from astropy import units as u

from .._atomic import atomic_output, check_output_path
from .._progress import Progress
from .._version import __version__
from ..deconvolve import residual_pair
from ..exceptions import InputError
from ..io import fit_psf_beam
from ..metrics import match_radius
from ..models import InferenceSettings, Normalisation, save_checkpoint
from ..simulate import (Observation, SetupPairs, SetupRange, SimulationConfig, TrainingPairs, image_wcs,
                        setup_configs)
from .calibrate import calibrate_checkpoint, calibration_seconds
from ..simulate import validation_set
from .evaluate import evaluate_model, record_source_fwhm

__all__ = ["train"]

logger = logging.getLogger(__name__)


_WARMUP_STEPS = 20  #: a time-limited run's (fine-tuning's) learning rate rises linearly over these steps


def _time_limited_rate(step, elapsed, time_limit_s):
    """The learning rate's factor at ``step`` after ``elapsed`` of ``time_limit_s`` seconds: a linear warm-up over
    `_WARMUP_STEPS` steps, times a cosine in wall time from 1 to 0.05 at the limit."""
    return min(1.0, (step + 1) / _WARMUP_STEPS) * (0.05 + 0.475 * (1 + np.cos(np.pi * min(elapsed / time_limit_s,
                                                                                            1.0))))  # fmt: skip


def _pairs(config, simulation, seed, observation=None):
    """The training pairs: of the set-ups of ``config.setups`` (issue 29), or of one set-up."""
    setups = SetupRange.from_dict(config.setups)
    if setups.n and observation is None:
        logger.info("simulating the observations of %d set-ups (setups section)", setups.n)
        return SetupPairs(setup_configs(simulation, setups), seed=seed)
    return TrainingPairs(simulation, seed=seed, n_pointings=config.data["n_pointings"], observation=observation)


def _batches(config, simulation, normalisation, seed, observation=None):
    """Endless batches of (dirty, sky) crops as normalised tensors (N, 1, crop, crop)."""
    pairs = _pairs(config, simulation, seed, observation)
    rng = np.random.default_rng(seed + 1)
    crop, size = config.data["crop"], simulation.image.size
    # The bright emission is CLEANed first, as at inference (astro_i2i.deconvolve): the network learns the residual.
    psfs, beam_pixels, radii = [], [], []
    for observation_k, config_k in zip(pairs.observations, pairs.configs):
        psf = observation_k.psf()
        beam = fit_psf_beam(psf, image_wcs(config_k, config_k.pointing.ra_deg, config_k.pointing.dec_deg))
        psfs.append(psf)
        beam_pixels.append(float(np.sqrt((beam.major * beam.minor).to_value(u.arcsec**2)))
                           / config_k.image.pixel_scale_arcsec)  # fmt: skip
        # Crop centres over the whole primary-beam disc: the network must also see its blanked edge.
        radii.append(np.sqrt((~observation_k.blank_mask).sum() / np.pi))
    batch_size, per_image = config.optimisation["batch_size"], config.data["crops_per_image"]
    while True:
        dirty_batch, sky_batch = [], []
        while len(dirty_batch) < batch_size:
            sample = pairs.sample()
            k = sample["pointing"]
            dirty, sample["sky"], _ = residual_pair(sample["dirty"], sample["sky"], psfs[k],
                                                    faint_sky=sample["faint_sky"],
                                                    beam_fwhm_pixels=beam_pixels[k])  # fmt: skip
            dirty = np.nan_to_num(dirty)
            for _ in range(per_image):
                r, angle = radii[k] * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
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


def _initial_state(name, model):
    """The weights of a shipped model (by name) or a checkpoint (by path) to fine-tune from (``initial_model``)."""
    from ..data import model_path
    from ..models import load_checkpoint

    loaded, _ = load_checkpoint(model_path(name))
    if loaded.architecture != model.architecture or loaded.config != model.config:
        raise InputError("optimisation.initial_model", f"{name!r} is a {loaded.architecture} model with "
                                                       f"{loaded.config}, not the config's {model.config}")  # fmt: skip
    return loaded.state_dict()


def _improves(metrics, best):
    """Whether a validation result is at least the best so far (an F1 of NaN, nothing found, counts as 0).

    A tie goes to the later, longer-trained step (a fine-tuning whose validation stayed flat kept its
    first step: Cycle 5.6, step 100 of 5344, docs/adapt.rst).
    """
    return float(np.nan_to_num(metrics["f1"])) >= float(np.nan_to_num(best["f1"]))


def _fitted_beam(simulation, observation=None):
    """The synthesized beam of the set-up the model is trained on (a fit to its PSF), for its checkpoint."""
    dec = simulation.pointing.dec_deg
    psf = (observation or Observation(simulation, dec)).psf()
    return fit_psf_beam(psf, image_wcs(simulation, simulation.pointing.ra_deg, dec))


def train(config, output, *, resume=False, device="cpu", overwrite=False, progress=True, observation=None,
          initial_state=None, time_limit_s=None, notes=None, whole_budget=False, clock_start=None,
          refuse_worse=False, force=False, reserve_s=0.0, phases=("1/4", "2/4", "3/4", "4/4")):  # fmt: skip
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
    progress : None, bool or callable, optional
        Progress over the steps (`astro_i2i._progress`): True (default) for a
        tqdm bar with the loss and the ETA, or a callable
        ``progress(done, total)``.
    observation : `~astro_i2i.simulate.ImagedObservation`, optional
        Simulate training, validation and calibration images with this
        observation (``astro-i2i adapt``); it is stored in the checkpoint.
    initial_state : dict, optional
        A state dict to start from (fine-tuning) instead of random weights.
    time_limit_s : float, optional
        Train for this many seconds of wall time rather than
        ``optimisation.steps`` steps (which is then only an upper bound); the
        learning rate follows a cosine in elapsed time.
    notes : dict, optional
        Stored under the checkpoint's ``simulation['adapted']``.
    whole_budget : bool, optional
        ``time_limit_s`` bounds the whole run from ``clock_start`` (default
        now): the validation set, the validations and the calibration too.
        The time per validation and calibration image is measured first, the
        calibration images are reduced so that the calibration takes at most
        a third of what is left, and the training gets the rest; when even
        the minimum cannot fit, the estimate is logged at the start.
    clock_start : float, optional
        ``time.perf_counter()`` when the command began (``astro-i2i adapt``).
    refuse_worse : bool, optional
        Validate the initial weights first; if the best trained model
        validates worse, raise `~astro_i2i.exceptions.InputError` and write
        no checkpoint, unless ``force``.
    force : bool, optional
    reserve_s : float, optional
        With ``whole_budget``: seconds of the budget kept for the caller after
        the run (`~astro_i2i.training.adapt` tunes the model in them). A
        ``validation.calibration_images`` of 0 leaves the model uncalibrated
        (its caller calibrates it).
    phases : tuple of 4 str, optional
        With ``whole_budget``: the labels of the progress lines (validation
        images, training, calibration, done); None leaves one out.

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
    if initial_state is None and config.optimisation["initial_model"]:
        initial_state = _initial_state(config.optimisation["initial_model"], model)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.optimisation["learning_rate"])
    steps = int(config.optimisation["steps"])
    step, elapsed, best = 0, 0.0, {"f1": -1.0}
    if time_limit_s is None:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.optimisation["learning_rate"],
                                                        total_steps=steps, pct_start=0.05)  # fmt: skip
    else:
        # Cosine in wall time, from the full rate to 5 % of it at the time limit, after a linear warm-up over the
        # first `_WARMUP_STEPS` steps (the scheduler's count). Without it Adam's first step moved every weight
        # by the full rate: one step at 4e-4 raised the shipped model's content loss 100x on C43-6 (1.7e-5 to
        # 2.1e-3) and a 10-minute adapt scored F1 10.6 against 38.9 before it.
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda k: _time_limited_rate(k, elapsed, time_limit_s))
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
    n_calibration = int(validation["calibration_images"])
    clock = time.perf_counter() if clock_start is None else float(clock_start)
    budget = time_limit_s if whole_budget else None
    if budget is not None and phases[0]:
        logger.info(f"phase {phases[0]}: simulating %d validation images (%.0f s elapsed, %.0f s of the %.0f s "
                    "budget left)",
                    int(validation["n_images"]), time.perf_counter() - clock,
                    budget - (time.perf_counter() - clock), budget)  # fmt: skip
    simulated = time.perf_counter()
    images, truth = validation_set(simulation, int(validation["n_images"]), int(validation["seed"]),
                                   observation=observation, subtract_bright=True)  # fmt: skip
    per_image = (time.perf_counter() - simulated) / max(len(images), 1)
    batches = _batches(config, simulation, normalisation, seed=int(config.data["seed"]) + 7919 * step,
                       observation=observation)  # fmt: skip
    beam = _fitted_beam(simulation, observation)
    stored = observation.to_arrays() if observation is not None else None
    scoring = {"beam": beam, "radius": match_radius(beam), "source_fwhm": record_source_fwhm(simulation) * u.arcsec}
    hardware = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, {device}"

    # The checkpoint is staged beside the output while it may still be refused.
    final_output = output
    if refuse_worse and not force:
        output = output.with_name(output.name + ".partial")
        output.unlink(missing_ok=True)
    initial_metrics = None
    validation_s = 0.0
    if refuse_worse or budget is not None:  # also measures the time of a validation
        evaluated = time.perf_counter()
        model.eval()
        initial_metrics = evaluate_model(model, normalisation, images, truth, **scoring, device=device)
        model.train()
        validation_s = time.perf_counter() - evaluated
        logger.info("the model it starts from: validation F1 %.4f", float(np.nan_to_num(initial_metrics["f1"])))
    if budget is not None:
        # A calibration image is simulated like a validation image, then scored directly and in the sampled
        # mode: timed on two validation images (`calibration_seconds`). Counted as 3 validations, the estimate
        # fitted a 64 x 64 set-up but ran 2.9x over on C43-8's 512 x 512 (97 s against 34 s).
        model.eval()
        per_calibration = 0.0
        if n_calibration:
            per_calibration = per_image + calibration_seconds(model, normalisation, images[:2],
                                                              truth[np.asarray(truth["image"]) < 2], beam=beam,
                                                              simulation=simulation, device=device) + 1e-3  # fmt: skip
        model.train()
        left = budget - (time.perf_counter() - clock) - float(reserve_s)
        if n_calibration:
            fitting = int((left / 3) // per_calibration)
            if fitting < n_calibration:
                n_calibration = max(4, fitting)
        calibration_s = n_calibration * per_calibration
        time_limit_s = left - calibration_s - validation_s - 0.02 * budget
        if time_limit_s <= 0:
            needed = (time.perf_counter() - clock) + calibration_s + 2 * validation_s + float(reserve_s)
            logger.info("cannot fit in %.0f s: the estimate is %.0f s (%.1f min) with one training step and %d "
                        "calibration images (%.2f s each)", budget, needed, needed / 60, n_calibration,
                        per_calibration)  # fmt: skip
            time_limit_s = 1e-6
        then = (f"calibration on {n_calibration} of {int(validation['calibration_images'])} images (about "
                f"{calibration_s:.0f} s)" if n_calibration else f"{float(reserve_s):.0f} s kept")  # fmt: skip
        logger.info(f"phase {phases[1]}: training for %.0f s, then validation (%.0f s) and %s; %.0f s elapsed, %.0f "
                    "s left", time_limit_s, validation_s, then, time.perf_counter() - clock,
                    budget - (time.perf_counter() - clock))  # fmt: skip

    def save_state():
        payload = {"config": json.loads(json.dumps(config.to_dict())), "model": model.state_dict(),
                   "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
                   "elapsed": elapsed, "best": best}  # fmt: skip
        with atomic_output(state_path, overwrite=True) as tmp:
            torch.save(payload, tmp)

    def log(entry):
        with open(log_path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    bar = Progress(progress, steps, desc="training", unit="step", initial=step)
    model.train()
    started = time.perf_counter() - elapsed

    def out_of_time():
        return time_limit_s is not None and elapsed >= time_limit_s

    reported = 0.0

    while step < steps and not out_of_time():
        dirty, sky = next(batches)
        loss, parts = model.loss(dirty.to(device), sky.to(device), config.losses)
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
        bar.update(loss=f"{float(loss.detach()):.4f}")
        if step % 20 == 0:
            log({"step": step, "time_s": round(elapsed, 1), "loss": float(loss.detach()), **parts})
        if budget is not None and elapsed - reported >= max(10.0, time_limit_s / 10):
            reported = elapsed
            logger.info("training: step %d, loss %.4f; %.0f s elapsed, %.0f s left", step, float(loss.detach()),
                        time.perf_counter() - clock, budget - (time.perf_counter() - clock))  # fmt: skip
        last = step == steps or out_of_time()
        if step % int(validation["every"]) == 0 or last:
            model.eval()
            metrics = evaluate_model(model, normalisation, images, truth, **scoring, device=device)
            model.train()
            log({"step": step, "time_s": round(elapsed, 1), "validation": metrics})
            logger.info("step %d: validation F1 %.4f (P %.4f, C %.4f; threshold %g sigma)", step, metrics["f1"],
                        metrics["purity"], metrics["completeness"], metrics["detection_nsigma"])  # fmt: skip
            if _improves(metrics, best):
                best = {**metrics, "step": step}
                save_checkpoint(output, model, normalisation=normalisation, simulation=simulation, beam=beam,
                                adapted=notes or None,
                                training={"steps": step, "time_s": elapsed, "hardware": hardware,
                                          "config": config.to_dict(), "torch": torch.__version__},
                                metrics={"validation": best}, inference=InferenceSettings(), observation=stored,
                                overwrite=True)  # fmt: skip
        if step % int(config.optimisation["checkpoint_every"]) == 0 or last:
            save_state()
    bar.close()
    if initial_metrics is not None:
        before, after = float(np.nan_to_num(initial_metrics["f1"])), float(np.nan_to_num(best["f1"]))
        if refuse_worse and after < before and not force:
            output.unlink(missing_ok=True)
            state_path.unlink(missing_ok=True)
            raise InputError(final_output, f"not written: the adapted model validates worse than the model it "
                                           f"started from (F1 {after:.4f} against {before:.4f}); force=True "
                                           "writes it anyway")  # fmt: skip
    if output.exists() and first_step < step and n_calibration:
        if budget is not None and phases[2]:
            logger.info(f"phase {phases[2]}: calibrating on %d images; %.0f s elapsed, %.0f s left", n_calibration,
                        time.perf_counter() - clock, budget - (time.perf_counter() - clock))  # fmt: skip
        calibrate_checkpoint(output, output, n_images=n_calibration,
                             seed=int(validation["calibration_seed"]), device=device, overwrite=True,
                             observation=observation, log=log)  # fmt: skip
    if output != final_output and output.exists():
        os.replace(output, final_output)
    output = final_output
    if budget is not None and phases[3]:
        logger.info(f"phase {phases[3]}: done in %.0f s of the %.0f s budget", time.perf_counter() - clock, budget)
    logger.info("best validation F1 %.4f at step %d -> %s (%s)", best["f1"], best.get("step", 0), output, __version__)
    return best
