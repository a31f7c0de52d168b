"""What every astro-i2i model provides, so that training, inference and the CLI never ask which one they hold."""

import functools
import inspect

import torch
from torch import nn

__all__ = ["SkyModel"]


class SkyModel(nn.Module):
    """Base class of the models: a network from a dirty image to its sky, with its loss and its sampling.

    Subclasses set ``architecture`` (the name in checkpoints) and implement
    `loss` and `sample`. Their constructor's arguments are recorded in
    ``self.config`` by the base class (as diffusers' ``register_to_config``
    does): each call of a subclass's ``__init__`` stores its keyword
    arguments, defaults filled in, before the body runs, so that
    ``type(model)(**model.config)`` rebuilds the model and the config is
    saved with the weights (`~astro_i2i.models.save_checkpoint`). A
    constructor that resolves an argument (``content_channels=None``: the
    same as ``base_channels``) records the resolved value with
    `register_to_config`.

    Attributes
    ----------
    config : dict
        The constructor's keyword arguments (set automatically).
    stochastic : bool
        Whether `sample` gives different skies for ``samples > 1``.
    has_style : bool
        Whether the model has a style (noise) representation
        (`estimate_style`, `generate`), whose perturbation ``sigma_style``
        is calibrated.
    default_samples : int
        K of the sampled mode when none is asked for (calibrated for it).
    sampling_steps : int or None
        Network runs per sample of an iterative sampler (a diffusion
        model's steps, settable on a loaded model); None for one-run models.
    """

    architecture = None
    stochastic = False
    has_style = False
    default_samples = 10
    sampling_steps = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_config(cls.__init__)

    def register_to_config(self, **values):
        """Record (or correct) constructor arguments in ``self.config``, e.g. an argument the constructor resolved.

        Parameters
        ----------
        **values
            Argument names and values, added to (or replacing those in) ``self.config``.
        """
        self.__dict__.setdefault("config", {}).update(values)

    @property
    def multiple(self):
        """Image sizes (on the network grid) must be multiples of this."""
        return 2 ** self.config["depth"]

    @property
    def style_factor(self):
        """How many times coarser than the network grid the style map is (None without a style)."""
        return None

    def loss(self, dirty, sky, weights):
        """The training loss of a batch (normalised network-grid tensors).

        Parameters
        ----------
        dirty, sky : `torch.Tensor`
            ``(N, 1, H, W)``.
        weights : dict
            The training config's ``losses`` section.

        Returns
        -------
        total : `torch.Tensor`
        parts : dict of float
        """
        raise NotImplementedError

    def sample(self, dirty, samples, *, sigma_style=0.0, generators=None):
        """Sky samples of a batch of dirty images.

        Parameters
        ----------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.
        samples : int
            K; a deterministic model returns one sample whatever K.
        sigma_style : float, optional
            The style perturbation (stochastic models).
        generators : list of `torch.Generator`, optional
            One per batch element, so that a tile's samples do not depend on
            the batch it is in.

        Returns
        -------
        skies : `torch.Tensor`
            ``(B, K, 1, H, W)`` (K = 1 for a deterministic model).
        style : `torch.Tensor` or None
            ``(B, C, H / style_factor, W / style_factor)``, the estimated style.
        """
        raise NotImplementedError

    def network_runs(self, samples):
        """Network evaluations per tile for K = ``samples`` (the cost figure of the benchmarks).

        Parameters
        ----------
        samples : int
            K (values below 1 count as 1).

        Returns
        -------
        runs : int
            K for a stochastic model (1 for a deterministic one), times the
            sampling steps of a diffusion model.
        """
        runs = max(int(samples), 1) if self.stochastic else 1
        return runs * (self.sampling_steps or 1)

    def estimate_style(self, composite):
        """The estimated style of a batch of dirty images; a model without style raises TypeError.

        Parameters
        ----------
        composite : `torch.Tensor`
            ``(B, 1, H, W)`` normalised dirty images.

        Returns
        -------
        style : `torch.Tensor`
            ``(B, C, H / style_factor, W / style_factor)``.
        """
        raise TypeError(f"the {self.architecture} model has no style")

    def generate(self, content, style):
        """A dirty image of a sky with a style; a model without a composite generator raises TypeError.

        Parameters
        ----------
        content : `torch.Tensor`
            ``(B, 1, H, W)`` normalised sky.
        style : `torch.Tensor`
            ``(B, C, h, w)`` style.

        Returns
        -------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)`` normalised dirty image.
        """
        raise TypeError(f"the {self.architecture} model cannot generate dirty images (it has no composite generator)")

    def forward(self, dirty):
        """One sky per dirty image: ``sample(dirty, 1)``'s first sample.

        Parameters
        ----------
        dirty : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.

        Returns
        -------
        sky : `torch.Tensor`
            ``(B, 1, H, W)``, normalised.
        """
        return self.sample(dirty, 1)[0][:, 0]


def _recording_config(init):
    """Wrap a model's ``__init__`` so that its arguments (defaults filled in) become ``self.config``.

    The arguments are recorded before the body runs (so that it may use ``self.config``); a subclass's
    constructor calling its parent's records once, with its own arguments.
    """
    signature = inspect.signature(init)
    parameters = list(signature.parameters.values())[1:]  # without self
    if any(p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL) for p in parameters):
        raise TypeError(f"{init.__qualname__}: a model's constructor arguments must be nameable (they are saved "
                        f"as keyword arguments)")  # fmt: skip

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if "config" not in self.__dict__:  # the outermost constructor records; a parent's call does not
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            config = {}
            for parameter in parameters:
                value = bound.arguments[parameter.name]
                if parameter.kind == parameter.VAR_KEYWORD:
                    config.update(value)
                else:
                    config[parameter.name] = value
            # In the instance's __dict__ directly: nn.Module.__init__ has not run yet.
            self.__dict__["config"] = config
        init(self, *args, **kwargs)

    return __init__


def _noise(shape, generator, like):
    return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
