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

A normalized score is only as meaningful as its reference: a score against an undertrained
oracle says little. Each family with a documented *solved level* (:data:`SOLVED_LEVELS`:
Gymnasium's reward threshold where the reference environment has one, else a stated rule)
lets a report flag a spec whose oracle falls below it on the tasks inside the train ranges.
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


@dataclass(frozen=True)
class SolvedLevel:
    """The mean return at which a family's task counts as solved (on train tasks).

    :param value: the level for a spec (its episode length may matter)
    :param reason: where the level comes from (shown in reports and docs)
    """

    value: Callable[[TaskSpec], float]
    reason: str


SOLVED_LEVELS: dict[str, SolvedLevel] = {
    "cartpole": SolvedLevel(
        lambda spec: 0.95 * spec.max_episode_steps,
        "Gymnasium's CartPole-v1 threshold, 475 of the 500 steps: 0.95 per step of the episode.",
    ),
    "pendulum": SolvedLevel(
        lambda spec: -1.0 * spec.max_episode_steps,
        "Pendulum-v1 has no threshold; trained agents score about -150 to -200 over its 200 "
        "steps, so -1 per step: the rod swung up and held.",
    ),
    "mountaincar_continuous": SolvedLevel(
        lambda spec: 90.0, "Gymnasium's MountainCarContinuous-v0 threshold (90)."
    ),
    "acrobot": SolvedLevel(lambda spec: -100.0, "Gymnasium's Acrobot-v1 threshold (-100)."),
    "pointnav": SolvedLevel(
        lambda spec: -10.0,
        "the goal reached and held: going straight to a train goal (at most 1.5 m away, 0.1 m per "
        "step per axis) costs at most about -7; -10 leaves room for a few steps of inference.",
    ),
    "lunarlander": SolvedLevel(lambda spec: 200.0, "Gymnasium's LunarLanderContinuous-v3 threshold (200)."),
    "halfcheetah_vel": SolvedLevel(
        lambda spec: -0.5 * spec.max_episode_steps,
        "no Gymnasium threshold for a target velocity: -0.5 per step (velocity error plus "
        "control cost), i.e. tracking the target within about 0.5 m/s on average, the "
        "acceleration from standstill included.",
    ),
    "hopper_params": SolvedLevel(
        lambda spec: 2.0 * spec.max_episode_steps,
        "Hopper-v5's threshold (3800 over 1000 steps) assumes a run already at speed; over "
        "short episodes from standstill: 2 per step, i.e. healthy throughout (+1) and hopping "
        "forward at about 1 m/s on average.",
    ),
}
"""Solved levels of the families that document one (mean return over an episode)."""


def solved_level(spec: TaskSpec) -> float | None:
    """The solved level of ``spec``'s family on its episode length, or ``None`` if it has none."""
    entry = SOLVED_LEVELS.get(spec.family)
    return None if entry is None else float(entry.value(spec))
