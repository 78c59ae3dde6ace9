"""Default hyperparameters per (family, algorithm), shipped as YAML, and their checking."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.errors import ConfigError, suggest
from mtml_rl.io import load_yaml_text
from mtml_rl.training.algorithms import AlgoInfo

SPECIAL_KEYS = ("n_envs", "n_timesteps", "normalize", "noise_type", "noise_std")
"""Keys handled by mtml-rl itself rather than passed to the algorithm."""
PROFILES = ("default", "fast")
"""Hyperparameter profiles: ``default`` is ``<algo>.yaml``'s entry of the family; ``fast``
overlays ``fast.yaml``'s entry of the algorithm and family on it, key by key (many slots of
the batched vector env, large minibatches, fewer gradient steps per environment step);
a family the profile has no entry for keeps its default entry."""


@dataclass
class Hyperparams:
    """Resolved hyperparameters of one run.

    :param n_envs: environment slots
    :param n_timesteps: default budget
    :param normalize: wrap the env in ``VecNormalize`` (``True`` or its keyword arguments)
    :param algo_kwargs: keyword arguments for the SB3 algorithm
    """

    n_envs: int
    n_timesteps: int
    normalize: bool | dict[str, Any]
    algo_kwargs: dict[str, Any] = field(default_factory=dict)


@cache
def _table(name: str) -> dict[str, Any]:
    """The shipped table ``mtml_rl/hyperparams/<name>.yaml``, parsed once per process (planning
    a grid resolves every trial's hyperparameters) by the loader of users' YAML, so that its
    numbers read as an override's do (``3e-4`` a number); callers copy what they hand out."""
    text = resources.files("mtml_rl.hyperparams").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return dict(load_yaml_text(text) or {})


def check_profile(profile: Any) -> str:
    """``profile`` if it names a profile of :data:`PROFILES`, else a :class:`ConfigError`."""
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ConfigError(
            f"unknown hyperparameter profile {profile!r}{suggest(str(profile), PROFILES)}; "
            f"choose one of {', '.join(PROFILES)}"
        )
    return profile


def load_defaults(algo: str, family: str, profile: str = "default") -> dict[str, Any]:
    """The shipped defaults for ``(family, algo)`` (the ``default`` entry if the family has
    none), with the profile's entry for them over it (see :data:`PROFILES`).

    :param algo: the algorithm's name (``ppo``)
    :param family: the spec's family (``cartpole``)
    :param profile: a name of :data:`PROFILES`
    """
    table = _table(algo)
    defaults = dict(table.get(family, table.get("default", {})))
    if check_profile(profile) == "default":
        return copy.deepcopy(defaults)
    overlay = dict(_table(profile).get(algo, {}) or {}).get(family, {})
    return copy.deepcopy({**defaults, **overlay})


@dataclass(frozen=True)
class LinearSchedule:
    """A learning-rate (or clip-range) schedule decaying linearly from ``start`` to 0, and 0
    after; written ``lin_<start>`` in hyperparameters, and so in its ``repr`` and a run's
    record of them.

    SB3 passes ``progress_remaining = 1 - steps done / budget``, which turns negative for the
    update after an on-policy rollout that overshoots the budget (a budget that is not a
    multiple of ``n_steps * n_envs``, or smaller than one rollout); the product alone would
    then be a negative learning rate, a step up the loss, and a negative clip range.
    """

    start: float

    def __call__(self, progress_remaining: float) -> float:
        return max(progress_remaining, 0.0) * self.start

    def __repr__(self) -> str:
        return f"lin_{self.start!r}"


def linear_schedule(start: float) -> LinearSchedule:
    """The schedule ``lin_<start>`` (:class:`LinearSchedule`)."""
    return LinearSchedule(float(start))


def _convert(key: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return linear_schedule(float(value[4:]))
        except ValueError:
            raise ConfigError(f"hyperparameter {key}: {value!r} is not lin_<number>") from None
    return value


WHOLE_AT_LEAST_ONE = ("batch_size", "n_steps", "n_epochs", "buffer_size")
"""Algorithm hyperparameters that count something and must be at least 1 (SB3 checks some of
them for some algorithms only: SAC took ``batch_size:0`` and trained on empty batches)."""
IN_UNIT_INTERVAL = ("gamma", "gae_lambda", "tau")
"""Algorithm hyperparameters that must lie in [0, 1] (SB3 does not check them)."""


def _checked_ranges(hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hyperparams`` with its counts as ints (``n_steps: 1e3`` reads as the float 1000.0), or
    a :class:`ConfigError` for a count below 1 or a factor outside [0, 1] among the algorithm's
    hyperparameters that SB3 leaves unchecked."""
    checked = dict(hyperparams)
    for key in WHOLE_AT_LEAST_ONE:
        if key in checked:
            checked[key] = _whole_number(key, checked[key], minimum=1)
    for key in IN_UNIT_INTERVAL:
        if key in checked:
            _number_in(key, checked[key], 0.0, 1.0)
    return checked


def _whole_number(key: str, value: Any, *, minimum: int) -> int:
    """``value`` as an int if it is a whole number of at least ``minimum``, else a
    :class:`ConfigError` naming ``key`` (``n_envs:2.5`` was taken as 2, ``n_envs:abc`` a traceback)."""
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole and isinstance(value, float) and value.is_integer():
        whole = True
    if not whole or value < minimum:
        raise ConfigError(f"hyperparameter {key} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def _number_in(key: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float if it is a number in ``[low, high]``, else a :class:`ConfigError`."""
    number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not number or not low <= float(value) <= high:
        where = f"of at least {low:g}" if high == np.inf else f"in [{low:g}, {high:g}]"
        raise ConfigError(f"hyperparameter {key} must be a number {where}, got {value!r}")
    return float(value)


def normalize_setting(value: Any) -> bool | dict[str, Any]:
    """The ``normalize`` hyperparameter: ``true``/``false`` or a mapping of ``VecNormalize``'s
    keyword arguments (``{norm_reward: false}``); anything else is a :class:`ConfigError`."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"hyperparameter normalize must be true, false or a mapping of VecNormalize's arguments "
            f'(e.g. normalize:"{{norm_reward: false}}"), got {value!r}'
        )
    known = sorted(set(inspect.signature(VecNormalize.__init__).parameters) - {"self", "venv"})
    for key in value:
        if key not in known:
            raise ConfigError(
                f"normalize: {key!r} is not an argument of VecNormalize{suggest(str(key), known)}; "
                f"accepted: {', '.join(known)}"
            )
    return dict(value)


def policy_kwargs_mapping(value: Any) -> dict[str, Any]:
    """``policy_kwargs`` as a dict (nothing: an empty one), or a :class:`ConfigError` for
    anything but a mapping, such as rl-baselines3-zoo's Python text ``dict(net_arch=[64])``,
    which is not evaluated here."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"hyperparameter policy_kwargs must be a mapping, got {value!r}; write it in YAML, "
            'e.g. --hyperparams policy_kwargs:"{net_arch: [64, 64], log_std_init: -2}" '
            "(Python text such as dict(...) is not evaluated)"
        )
    return dict(value)


NOT_HYPERPARAMETERS = frozenset(
    {"self", "policy", "env", "seed", "device", "tensorboard_log", "verbose", "_init_setup_model"}
)
"""Constructor arguments of an SB3 algorithm that mtml-rl sets itself, not a hyperparameter file."""


def allowed_keys(algo: AlgoInfo) -> list[str]:
    """Every key an algorithm accepts (its constructor arguments plus mtml-rl's own)."""
    params = inspect.signature(algo.cls.__init__).parameters
    return sorted([p for p in params if p not in NOT_HYPERPARAMETERS] + list(SPECIAL_KEYS))


CLONE_FIXED = frozenset({"policy_kwargs"})
"""Constructor arguments a loaded model's clone cannot take otherwise: its network is the saved one."""


def clone_overrides(algo: AlgoInfo, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments that load a saved model of ``algo`` with other hyperparameters
    (``finetune``'s clone): constructor arguments of the algorithm but its network's, values
    as in a hyperparameter file (``lin_<x>`` a linear schedule); unknown keys are errors."""
    params = inspect.signature(algo.cls.__init__).parameters
    known = sorted(set(params) - NOT_HYPERPARAMETERS - CLONE_FIXED)
    for key in overrides:
        if key not in known:
            raise ConfigError(
                f"finetune_hyperparams: {key!r} is not a hyperparameter a {algo.name} clone can "
                f"change{suggest(str(key), known)}; accepted: {', '.join(known)}"
            )
    return {key: _convert(key, value) for key, value in _checked_ranges(overrides).items()}


def resolve_hyperparams(
    algo: AlgoInfo,
    family: str,
    overrides: dict[str, Any],
    action_dim: int | None,
    profile: str = "default",
) -> Hyperparams:
    """The profile's defaults for ``(family, algo)`` updated with ``overrides``; unknown keys
    are errors."""
    merged = {**load_defaults(algo.name, family, profile), **overrides}
    known = allowed_keys(algo)
    for key in merged:
        if key not in known:
            raise ConfigError(
                f"unknown hyperparameter {key!r} for {algo.name}{suggest(str(key), known)}; "
                f"accepted: {', '.join(known)}"
            )
    n_envs = _whole_number("n_envs", merged.pop("n_envs", 8), minimum=1)
    n_timesteps = _whole_number("n_timesteps", merged.pop("n_timesteps", 100_000), minimum=1)
    normalize = normalize_setting(merged.pop("normalize", False))
    noise_type = merged.pop("noise_type", None)
    noise_std = _number_in("noise_std", merged.pop("noise_std", 0.1), 0.0, np.inf)
    kwargs = {k: _convert(k, v) for k, v in _checked_ranges(merged).items()}
    if noise_type is not None:
        if noise_type != "normal" or action_dim is None:
            raise ConfigError(f"noise_type must be 'normal' (continuous actions only), got {noise_type!r}")
        kwargs["action_noise"] = NormalActionNoise(np.zeros(action_dim), noise_std * np.ones(action_dim))
    kwargs["policy_kwargs"] = policy_kwargs_mapping(kwargs.get("policy_kwargs"))
    return Hyperparams(n_envs, n_timesteps, normalize, kwargs)
