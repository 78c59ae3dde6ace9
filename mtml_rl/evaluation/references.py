"""Documented per-family reference returns: ``R_reference`` where no oracle is evaluated.

The normalized score of a task is ``(R - R_random) / (R_reference - R_random)``. The best
reference is the return of the ``oracle`` (the privileged upper bound) on the same task,
measured when an oracle run is evaluated alongside. Without one, the value below is used:
the return of a competent single-task agent at the family's default parameters, scaled to
the spec's episode length where the return accrues per step. These are deliberately round
numbers with the reasoning written next to them, not measurements; a report says which
reference every task used.

Families not listed (the MuJoCo and Box2D ones, whose attainable returns depend strongly on
the task and the budget) have no documented value: evaluate an ``oracle`` run alongside to
normalize them; their raw returns are reported either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mtml_rl.specs.spec import TaskSpec


@dataclass(frozen=True)
class FamilyReference:
    """A documented reference return of one family.

    :param value: the reference return for a spec (its episode length may matter)
    :param reason: why this value (shown in reports and docs)
    """

    value: Callable[[TaskSpec], float]
    reason: str


FAMILY_REFERENCES: dict[str, FamilyReference] = {
    "cartpole": FamilyReference(
        lambda spec: float(spec.max_episode_steps),
        "+1 per step the pole stays up: a balancing policy earns one point per step of the "
        "episode (500 at CartPole-v1's limit).",
    ),
    "pendulum": FamilyReference(
        lambda spec: -0.75 * spec.max_episode_steps,
        "a solved swing-up of Pendulum-v1 returns about -150 over 200 steps (the cost of the "
        "swing-up itself, then ~0 per step upright): -0.75 per step.",
    ),
    "mountaincar_continuous": FamilyReference(
        lambda spec: 93.0,
        "+100 at the flag minus the action cost of rocking there: trained agents score "
        "90-95 on MountainCarContinuous-v0 (its solved threshold is 90).",
    ),
    "acrobot": FamilyReference(
        lambda spec: -80.0,
        "-1 per step until the tip swings up: trained agents swing Acrobot-v1 up in about "
        "80 steps (its solved threshold is -100).",
    ),
    "pointnav": FamilyReference(
        lambda spec: -5.0,
        "minus the distance to the goal each step: heading straight to a train goal (at most "
        "1.5 m from the start) at full speed takes at most 15 steps, about -5 in all, then ~0 "
        "per step at the goal.",
    ),
}
"""Reference returns of the families with a documented value."""


def family_reference(spec: TaskSpec) -> float | None:
    """The documented reference return of ``spec``'s family, or ``None`` if it has none."""
    entry = FAMILY_REFERENCES.get(spec.family)
    return None if entry is None else float(entry.value(spec))
