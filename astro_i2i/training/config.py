"""The training config: one YAML file describes a run."""

import dataclasses
from dataclasses import dataclass, field

from .._yaml import read_yaml
from ..exceptions import InputError
from ..models import ARCHITECTURES, Normalisation
from ..simulate import SetupRange, SimulationConfig
from .evaluate import CALIBRATION_IMAGES, CALIBRATION_SEED

__all__ = ["TrainingConfig"]


@dataclass(frozen=True)
class TrainingConfig:
    """A training run, loadable from YAML (unknown keys are errors).

    Sections: ``model`` (``architecture`` plus the constructor's keyword
    arguments), ``normalisation``, ``simulation`` (overrides of
    `~astro_i2i.simulate.SimulationConfig`), ``data``, ``optimisation``,
    ``losses``, ``validation`` and ``setups`` (`~astro_i2i.simulate.SetupRange`: train over ALMA set-ups).

    Parameters
    ----------
    model : dict, optional
        ``architecture`` (default ``'two_to_one'``) and the model's keyword arguments.
    normalisation : dict, optional
        `~astro_i2i.models.Normalisation` fields.
    simulation : dict, optional
        `~astro_i2i.simulate.SimulationConfig` sections.
    data, optimisation, losses, validation : dict, optional
        Overrides of `DEFAULTS`' sections (unknown keys raise
        `~astro_i2i.exceptions.InputError`).
    setups : dict, optional
        `~astro_i2i.simulate.SetupRange` fields; with ``n > 0`` the training
        pairs come from ``n`` set-ups (`~astro_i2i.simulate.setup_configs`).
    """

    model: dict = field(default_factory=lambda: {"architecture": "two_to_one"})
    normalisation: dict = field(default_factory=dict)
    simulation: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    optimisation: dict = field(default_factory=dict)
    losses: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    setups: dict = field(default_factory=dict)

    DEFAULTS = {
        "data": {"crop": 128, "crops_per_image": 4, "seed": 1, "n_pointings": 2},
        "optimisation": {"steps": 2000, "batch_size": 8, "learning_rate": 2e-3, "checkpoint_every": 100,
                         "threads": 0, "initial_model": None},
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
        SetupRange.from_dict(self.setups)

    @classmethod
    def from_yaml(cls, path):
        """Read a training config from a YAML file.

        Parameters
        ----------
        path : str or path-like
            The YAML file (e.g. `~astro_i2i.data.training_config_path`).

        Returns
        -------
        config : `TrainingConfig`

        Raises
        ------
        `~astro_i2i.exceptions.InputError`
            Not a mapping, unknown sections or keys, or invalid values.
        """
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
        """The sections, defaults filled in.

        Returns
        -------
        values : dict
            ``{section: dict}``.
        """
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def build_model(self):
        """A fresh (untrained) model of ``model['architecture']`` with the section's keyword arguments.

        Returns
        -------
        model : `~astro_i2i.models.SkyModel`
        """
        kwargs = {k: v for k, v in self.model.items() if k != "architecture"}
        return ARCHITECTURES[self.model["architecture"]](**kwargs)
