"""What a run's policy takes and gives, set against what its spec's family presents now.

A run records its spec (``spec.yaml``, checked by hash), not the family's code: when a
family's observations change (a new version of the family, a Gymnasium upgrade), the run's
model would otherwise meet observations of another shape deep inside its policy. Loading
and resuming compare the model's spaces with the ones the method would train on now and
refuse a mismatch in one message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from gymnasium import spaces

from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.families.base import Family
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import Method


def space_shapes(space: spaces.Space) -> Any:
    """What of a space a policy is built for: a Box's shape, a Discrete's size, a Dict's
    entries (by key); anything else by its description."""
    if isinstance(space, spaces.Dict):
        return {key: space_shapes(sub) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Box):
        return ("Box", tuple(int(n) for n in space.shape))
    if isinstance(space, spaces.Discrete):
        return ("Discrete", int(space.n))
    return repr(space)


def describe(space: spaces.Space) -> str:
    """A space in a few words: ``Box(107,)``, ``Discrete(2)``, ``Dict(obs: Box(4,), ...)``."""
    return _words(space_shapes(space))


def _words(shapes: Any) -> str:
    """:func:`space_shapes`' summary in words."""
    if isinstance(shapes, dict):
        return "Dict(" + ", ".join(f"{k}: {_words(v)}" for k, v in sorted(shapes.items())) + ")"
    if isinstance(shapes, tuple):
        kind, size = shapes
        return f"{kind}{size}" if kind == "Box" else f"{kind}({size})"
    return str(shapes)


def expected_spaces(config: TrainConfig, spec: TaskSpec) -> tuple[spaces.Space, spaces.Space]:
    """The observation and action spaces a run of ``config`` on ``spec`` trains its policy on
    now: the family's observations in the method's layout, as the method presents them."""
    method = config.resolved_method()
    layout = method.layout(config)
    family = cast(Family, spec.family_cls())  # a SimFamily offers what ObsLayout reads
    env_space = ObsLayout(family, ContextCodec(spec, type(family)), layout.context, layout.history_len)
    action_space = family.action_space()
    return method.observation_space(config, env_space.single_space, action_space), action_space


def check_presented(
    method: Method,
    config: TrainConfig,
    presented: spaces.Space,
    env_space: spaces.Space,
    action_space: spaces.Space,
) -> None:
    """Refuse a method whose :meth:`~Method.wrap_env` presents observations other than its
    :meth:`~Method.observation_space` says (a method author's slip, named at training)."""
    said = method.observation_space(config, env_space, action_space)
    if space_shapes(presented) != space_shapes(said):
        raise ConfigError(
            f"method {method.name}: its wrap_env presents observations {describe(presented)}, but its "
            f"observation_space says {describe(said)}; make observation_space return what wrap_env presents"
        )


def check_model_spaces(
    path: Path,
    spec: TaskSpec,
    model: tuple[spaces.Space, spaces.Space],
    now: tuple[spaces.Space, spaces.Space],
) -> None:
    """Refuse a run whose model takes other observations (or gives other actions) than its
    spec's family presents now.

    :param path: the run directory (named in the message)
    :param spec: the run's spec
    :param model: the saved model's observation and action spaces
    :param now: the ones the method would train on now (:func:`expected_spaces`)
    """
    names = ("observations", "actions")
    changed = {
        name: f"{name} {describe(then)} then, {describe(current)} now"
        for name, then, current in zip(names, model, now, strict=True)
        if space_shapes(then) != space_shapes(current)
    }
    if changed:
        raise CheckpointError(
            f"{path}: the family {spec.family!r} of {spec.id} presents other {' and '.join(changed)} than "
            f"this run was trained on ({'; '.join(changed.values())}): the family's code changed since "
            "(a new version of it or of Gymnasium; versions.json records the ones the run was trained with); "
            "evaluate the run with those versions, or train a new run"
        )
