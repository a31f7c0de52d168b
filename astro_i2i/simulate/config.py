"""Configuration of the simulator: one YAML-loadable object, unknown keys rejected."""

import dataclasses
import math
from dataclasses import dataclass, field

import yaml

from .._yaml import read_yaml
from ..exceptions import InputError

__all__ = [
    "SimulationConfig",
    "ObservationConfig",
    "ImageConfig",
    "PrimaryBeamConfig",
    "NoiseConfig",
    "SourceConfig",
    "PointingConfig",
    "TargetConfig",
]

#: Shipped populations (``astro_i2i/data/populations/NAME.yaml``), by name: ``fields`` holds the reference
#: dataset's blank fields and as many with a bright target (docs/simulate.rst).
POPULATIONS = ("fields",)

#: Visibility weightings the simulator grids with (`~astro_i2i.simulate.Observation.weights`).
WEIGHTINGS = ("natural", "briggs", "uniform")

COSMOS_RA_DEG = 150.11916667  # 10h00m28.6s
COSMOS_DEC_DEG = 2.20583333  # +02d12m21s


@dataclass(frozen=True)
class ObservationConfig:
    """The array and the observation."""

    array: str = "alma.cycle5.3"  #: shipped antenna list name, or a path to a CASA .cfg file
    site_latitude_deg: float = -23.0229
    frequency_ghz: float = 230.0
    bandwidth_ghz: float = 1.875
    duration_s: float = 1200.0  #: centred on transit
    integration_s: float = 10.0
    weighting: str = "natural"  #: 'natural', 'briggs' (with ``robust``) or 'uniform', as tclean's
    robust: float = 0.5  #: Briggs' robust parameter R, -2 (near uniform) to 2 (near natural)


@dataclass(frozen=True)
class ImageConfig:
    """The image grid."""

    size: int = 512
    pixel_scale_arcsec: float = 0.1


@dataclass(frozen=True)
class PrimaryBeamConfig:
    """CASA's ALMA 12-m primary-beam model: an Airy pattern of a blocked aperture."""

    dish_diameter_m: float = 10.7  #: effective diameter of CASA's ALMA 12-m model
    blockage_diameter_m: float = 0.75
    limit: float = 0.2  #: pixels below this primary-beam level are blanked (tclean pblimit)


@dataclass(frozen=True)
class NoiseConfig:
    """Thermal noise, added to the visibilities."""

    rms_jy: float = 46e-6  #: image RMS in Jy/beam (CASA simobserve tsys-atm, PWV 1.796 mm)
    snr_reference_jy: float = 50e-6  #: the truth table's snr = flux / this (reference definition)


@dataclass(frozen=True)
class SourceConfig:
    """The source population: elliptical Gaussians."""

    n_min: int = 1
    n_max: int = 5
    empty_fraction: float = 1000 / 10164  #: the reference set's empty fields
    flux_min_jy: float = 0.05e-3
    flux_max_jy: float = 0.5e-3
    fwhm_min_arcsec: float = 0.4
    fwhm_max_arcsec: float = 0.8
    max_radius_arcsec: float = 13.0  #: uniform within the primary beam's half-power disc

    @property
    def density_per_arcsec2(self):
        """Mean sources per arcsec^2 within ``max_radius_arcsec`` (empty fields included): 0.0051, 18 per
        arcmin^2, for the seed."""
        mean = (1 - self.empty_fraction) * (self.n_min + self.n_max) / 2
        return mean / (math.pi * self.max_radius_arcsec**2)


@dataclass(frozen=True)
class TargetConfig:
    """Bright targets (the object a field is pointed at), in a share of the fields; none by default.

    The shapes (`~astro_i2i.simulate.draw_targets`) are drawn with the four
    weights; sizes (FWHM of a Gaussian, diameter of a disc or ring) and
    integrated fluxes are log-uniform; positions uniform within
    ``max_radius_arcsec`` of the phase centre.
    """

    fraction: float = 0.0  #: share of the fields with targets (0: the reference dataset's blank fields)
    n_min: int = 1
    n_max: int = 2
    flux_min_jy: float = 0.5e-3
    flux_max_jy: float = 100e-3
    size_min_arcsec: float = 0.1
    size_max_arcsec: float = 4.0
    max_radius_arcsec: float = 8.0  #: the inner primary beam (PB above 0.6 at Band 6)
    weight_gaussian: float = 0.4
    weight_multi: float = 0.25
    weight_disc: float = 0.2
    weight_ring: float = 0.15


@dataclass(frozen=True)
class PointingConfig:
    """Where the pointings fall: uniform within a circle on the sky."""

    ra_deg: float = COSMOS_RA_DEG
    dec_deg: float = COSMOS_DEC_DEG
    radius_deg: float = 1.0


_SECTIONS = {
    "observation": ObservationConfig,
    "image": ImageConfig,
    "primary_beam": PrimaryBeamConfig,
    "noise": NoiseConfig,
    "sources": SourceConfig,
    "pointing": PointingConfig,
    "targets": TargetConfig,
}


@dataclass(frozen=True)
class SimulationConfig:
    """Everything the simulator needs; defaults reproduce the method's dataset.

    Load from YAML with `SimulationConfig.from_yaml`; sections are
    ``observation``, ``image``, ``primary_beam``, ``noise``, ``sources``,
    ``pointing`` and ``targets``, each with the fields of the matching class. Unknown sections
    or keys are errors.

    Parameters
    ----------
    observation : `ObservationConfig`, optional
    image : `ImageConfig`, optional
    primary_beam : `PrimaryBeamConfig`, optional
    noise : `NoiseConfig`, optional
    sources : `SourceConfig`, optional
    pointing : `PointingConfig`, optional
    targets : `TargetConfig`, optional
        The sections; each defaults to its class's defaults.
    """

    observation: ObservationConfig = field(default_factory=ObservationConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    primary_beam: PrimaryBeamConfig = field(default_factory=PrimaryBeamConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    sources: SourceConfig = field(default_factory=SourceConfig)
    pointing: PointingConfig = field(default_factory=PointingConfig)
    targets: TargetConfig = field(default_factory=TargetConfig)

    def __post_init__(self):
        self.validate()

    def validate(self, source="config"):
        """Raise `InputError` if a value is out of range.

        Parameters
        ----------
        source : str, optional
            What the error names as its source. Default ``'config'``.

        Raises
        ------
        `~astro_i2i.exceptions.InputError`
            The first value out of range.
        """
        o, i, p, n, s, pt = self.observation, self.image, self.primary_beam, self.noise, self.sources, self.pointing
        t = self.targets
        checks = [
            (o.frequency_ghz > 0, "observation.frequency_ghz must be positive"),
            (o.bandwidth_ghz > 0, "observation.bandwidth_ghz must be positive"),
            (o.duration_s > 0 and o.integration_s > 0, "observation durations must be positive"),
            (o.integration_s <= o.duration_s, "observation.integration_s exceeds duration_s"),
            (o.weighting in WEIGHTINGS, f"observation.weighting must be one of {WEIGHTINGS}, not {o.weighting!r}"),
            (-2 <= o.robust <= 2, f"observation.robust must be in [-2, 2], not {o.robust!r}"),
            (-90 <= o.site_latitude_deg <= 90, "observation.site_latitude_deg must be in [-90, 90]"),
            (i.size >= 32 and i.size % 2 == 0, f"image.size must be even and >= 32, not {i.size!r}"),
            (i.pixel_scale_arcsec > 0, "image.pixel_scale_arcsec must be positive"),
            (p.dish_diameter_m > p.blockage_diameter_m >= 0, "primary_beam: need dish_diameter_m > blockage_diameter_m >= 0"),
            (0 < p.limit < 1, "primary_beam.limit must be in (0, 1)"),
            (n.rms_jy >= 0, "noise.rms_jy must not be negative"),
            (n.snr_reference_jy > 0, "noise.snr_reference_jy must be positive"),
            (0 <= s.n_min <= s.n_max, "sources: need 0 <= n_min <= n_max"),
            (0 <= s.empty_fraction <= 1, "sources.empty_fraction must be in [0, 1]"),
            (0 < s.flux_min_jy <= s.flux_max_jy, "sources: need 0 < flux_min_jy <= flux_max_jy"),
            (0 < s.fwhm_min_arcsec <= s.fwhm_max_arcsec, "sources: need 0 < fwhm_min_arcsec <= fwhm_max_arcsec"),
            (s.max_radius_arcsec > 0, "sources.max_radius_arcsec must be positive"),
            (0 <= pt.radius_deg <= 90, "pointing.radius_deg must be in [0, 90]"),
            (-90 <= pt.dec_deg <= 90, "pointing.dec_deg must be in [-90, 90]"),
            (0 <= t.fraction <= 1, "targets.fraction must be in [0, 1]"),
            (1 <= t.n_min <= t.n_max, "targets: need 1 <= n_min <= n_max"),
            (0 < t.flux_min_jy <= t.flux_max_jy, "targets: need 0 < flux_min_jy <= flux_max_jy"),
            (0 < t.size_min_arcsec <= t.size_max_arcsec, "targets: need 0 < size_min_arcsec <= size_max_arcsec"),
            (t.max_radius_arcsec >= 0, "targets.max_radius_arcsec must not be negative"),
            (min(t.weight_gaussian, t.weight_multi, t.weight_disc, t.weight_ring) >= 0
             and t.weight_gaussian + t.weight_multi + t.weight_disc + t.weight_ring > 0,
             "targets: the shape weights must be non-negative and not all 0"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise InputError(source, message)

    @classmethod
    def from_dict(cls, values, *, source="config"):
        """Build from a nested dict; unknown sections or keys raise `InputError`.

        Parameters
        ----------
        values : dict or None
            ``{section: {key: value}}``; missing sections and keys take their
            defaults, values are converted to the default's type.
        source : str, optional
            What errors name as their source. Default ``'config'``.

        Returns
        -------
        config : `SimulationConfig`
        """
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise InputError(source, "a simulation config must be a mapping of sections")
        unknown = set(values) - set(_SECTIONS)
        if unknown:
            raise InputError(source, f"unknown section(s) {sorted(unknown)}; known: {list(_SECTIONS)}")
        sections = {}
        for name, kind in _SECTIONS.items():
            given = values.get(name) or {}
            if not isinstance(given, dict):
                raise InputError(source, f"section '{name}' must be a mapping")
            known = {f.name: f for f in dataclasses.fields(kind)}
            bad = set(given) - set(known)
            if bad:
                raise InputError(source, f"unknown key(s) {sorted(bad)} in '{name}'; known: {sorted(known)}")
            converted = {}
            for key, value in given.items():
                default = getattr(kind(), key)
                try:
                    converted[key] = type(default)(value)
                except (TypeError, ValueError):
                    raise InputError(source, f"{name}.{key} = {value!r} is not a {type(default).__name__}") from None
                if isinstance(default, int) and not isinstance(default, bool) and converted[key] != value:
                    raise InputError(source, f"{name}.{key} = {value!r} is not an integer")
            sections[name] = kind(**converted)
        try:
            return cls(**sections)
        except InputError as exc:
            raise InputError(source, exc.problem) from None

    @classmethod
    def from_record(cls, record, *, source="checkpoint"):
        """The config in a checkpoint's ``simulation`` record (its ``beam``, ``adapted`` and other notes dropped).

        Parameters
        ----------
        record : dict or None
            The record; keys that are not sections are ignored.
        source : str, optional
            What errors name as their source. Default ``'checkpoint'``.

        Returns
        -------
        config : `SimulationConfig`
        """
        return cls.from_dict({k: v for k, v in (record or {}).items() if k in _SECTIONS}, source=source)

    def to_dict(self):
        """Nested plain dict (YAML- and JSON-serialisable).

        Returns
        -------
        values : dict
            ``{section: {key: value}}``; `from_dict` reads it back.
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_yaml(cls, path):
        """Read a YAML file, or a shipped population by name (`POPULATIONS`); see the class docstring.

        Parameters
        ----------
        path : str or path-like
            A YAML file, or the name of a shipped population (used when no
            file of that name exists).

        Returns
        -------
        config : `SimulationConfig`
        """
        from pathlib import Path

        if str(path) in POPULATIONS and not Path(path).exists():
            from ..data import population_path

            path = population_path(path)
        return cls.from_dict(read_yaml(path), source=str(path))

    def to_yaml(self):
        """The config as YAML text.

        Returns
        -------
        text : str
            YAML of `to_dict`, sections in order.
        """
        return yaml.safe_dump(self.to_dict(), sort_keys=False)
