"""How trained runners move: upright or on their backs, and how fast.

HalfCheetah has a well-known local optimum: a policy that flipped onto its back early in
training learns to run that way, and a cheetah on its back cannot run as fast as one on its
feet. On HalfCheetahVel such a run settles at a return the family's solved level is above
(its fast targets out of reach), whatever the budget. An ant that tips over onto its back
cannot walk at all, and Ant-v5 does not end its episode (the flipped torso stays inside its
healthy height range). This script tells those runs apart.

Each run (a run folder, or one of its checkpoints: ``RUN/checkpoints/step_N``) plays one
deterministic episode on each of ``--tasks`` fresh tasks drawn from its spec's train region
(a validation draw; ``--split train``: the first tasks of the train split instead; never a
test split), with the context as the method deploys it. Over the
second half of each episode it records the cosine of the torso's tilt and its speed, read from
the observation (:class:`TorsoReader`): the families built on HalfCheetah-v5, Hopper-v5 and
Walker2d-v5 observe ``qpos[1:]`` then ``qvel``, so the pitch (``rooty``) is entry 1 and the
forward speed entry ``len(qpos) - 1``; those built on Ant-v5 observe ``qpos`` (AntGoal) or
``qpos[2:]`` (AntDir) then ``qvel``, so the torso's orientation quaternion ``(w, x, y, z)`` and
its planar velocity are read at the matching offsets, the tilt's cosine being the world-up
component of the torso's up axis, ``1 - 2 (x² + y²)``, and the speed that of ``(vx, vy)``. An
episode counts as "on its back" when the mean cosine over that half is negative (the torso
turned more than a quarter turn from upright).

Usage::

    python scripts/posture.py runs/HalfCheetahVel-oracle-s{0,1,2}
    python scripts/posture.py runs/HalfCheetahVel-oracle-s0/checkpoints/step_250000 --tasks 20
    python scripts/posture.py runs/AntGoal-oracle-s0 --tasks 16 --split train
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.io import atomic_write_text
from mtml_rl.lifetime import script_exit_status

PLANAR_REFERENCES = {"HalfCheetah-v5": 9, "Hopper-v5": 6, "Walker2d-v5": 9}
"""Reference environments whose observation is ``qpos[1:]`` then ``qvel`` -> ``len(qpos)``: the
forward speed ``qvel[0]`` is observation entry ``len(qpos) - 1``."""
PITCH = 1
"""Observation entry of the torso's pitch (``qpos[2]``, ``rooty``)."""
SPATIAL_REFERENCES = {"Ant-v5": 15}
"""Reference environments whose observation is ``qpos`` (or ``qpos[2:]`` when it excludes the
torso's x and y) then ``qvel`` -> ``len(qpos)``; ``qpos[3:7]`` is the torso's quaternion."""


@dataclass(frozen=True)
class TorsoReader:
    """Where a family's observation holds the torso's tilt and speed.

    :param planar: a planar runner (the tilt is the pitch angle) or a spatial one (the tilt is
        read from the torso's quaternion)
    :param tilt: observation entry of the pitch (planar) or of the quaternion's ``w`` (spatial)
    :param speed: observation entry of the forward speed (planar) or of ``vx``, ``vy`` (spatial)
    """

    planar: bool
    tilt: int
    speed: int

    def cos_tilt(self, observed: np.ndarray) -> np.ndarray:
        """Per step (rows of ``observed``): the cosine of the torso's tilt from upright."""
        if self.planar:
            return np.asarray(np.cos(observed[:, self.tilt]))
        x, y = observed[:, self.tilt + 1], observed[:, self.tilt + 2]
        return np.asarray(1.0 - 2.0 * (x**2 + y**2))

    def speeds(self, observed: np.ndarray) -> np.ndarray:
        """Per step: the forward speed (planar) or the planar speed (spatial), m/s."""
        if self.planar:
            return np.asarray(observed[:, self.speed])
        return np.asarray(np.hypot(observed[:, self.speed], observed[:, self.speed + 1]))


@dataclass(frozen=True)
class Posture:
    """One run's posture on the validation tasks.

    :param run: the run or checkpoint folder
    :param mean_return: mean episode return
    :param on_back: episodes whose torso was on its back over their second half
    :param return_on_back: their mean return (``None``: no such episode)
    :param return_upright: the other episodes' mean return (``None``: none)
    :param episodes: episodes played (one per task)
    :param mean_speed: mean speed over the second halves (m/s; forward for a planar runner)
    :param mean_cos_tilt: mean cosine of the torso's tilt over the second halves (1: upright)
    """

    run: str
    mean_return: float
    on_back: int
    return_on_back: float | None
    return_upright: float | None
    episodes: int
    mean_speed: float
    mean_cos_tilt: float


class _Recorder:
    """Wraps a deployed agent and keeps every raw observation it is shown (an agent's adapt
    step, ``finetune``'s, is passed on)."""

    def __init__(self, agent: Any) -> None:
        from mtml_rl.rollouts import has_adapt_step

        self.agent = agent
        self.name = agent.name
        self.privileged = agent.privileged
        self.requirements = agent.requirements
        self.observations: list[np.ndarray] = []
        if has_adapt_step(agent):
            self.adapt = agent.adapt

    def reset(self, num_envs: int) -> None:
        self.agent.reset(num_envs)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        raw = obs["obs"] if isinstance(obs, dict) else obs
        self.observations.append(np.array(raw, dtype=np.float64))
        actions: np.ndarray = self.agent.act(obs, deterministic)
        return actions

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        self.agent.observe(actions, rewards, dones, trial_starts)


def load_run(folder: Path) -> Any:
    """The :class:`~mtml_rl.training.Run` of a run folder (final model) or of a checkpoint."""
    from mtml_rl.training import Run

    if folder.parent.name == "checkpoints":
        return Run.load(folder.parent.parent, folder.name)
    return Run.load(folder, "final")


def torso_reader(family: str | type) -> TorsoReader:
    """Where a family's observation holds the torso's tilt and speed (a ``ValueError`` for a
    family not built on one of :data:`PLANAR_REFERENCES` or :data:`SPATIAL_REFERENCES`).

    :param family: a registered family's name, or the family class (a spec's
        ``family_cls()``, which also finds a family its spec names as ``pkg.module:Class``)
    """
    from mtml_rl.families.registry import get_family

    family_cls = get_family(family) if isinstance(family, str) else family
    reference = getattr(family_cls, "reference_id", None)
    if reference in PLANAR_REFERENCES:
        return TorsoReader(planar=True, tilt=PITCH, speed=PLANAR_REFERENCES[reference] - 1)
    if reference in SPATIAL_REFERENCES:
        kwargs = getattr(family_cls, "env_kwargs", {})
        skipped = 0 if kwargs.get("exclude_current_positions_from_observation") is False else 2
        return TorsoReader(planar=False, tilt=3 - skipped, speed=SPATIAL_REFERENCES[reference] - skipped)
    known = ", ".join([*PLANAR_REFERENCES, *SPATIAL_REFERENCES])
    name = getattr(family_cls, "name", family)
    raise ValueError(f"family {name!r} is not built on a runner ({known}); nothing to measure")


def second_half(observed: np.ndarray, reader: TorsoReader) -> tuple[float, float]:
    """Mean cosine of the torso's tilt and mean speed over the second half of one episode's
    observations (``(steps, obs)``, in order); a negative cosine: on its back."""
    late = observed[observed.shape[0] // 2 :]
    return float(reader.cos_tilt(late).mean()), float(reader.speeds(late).mean())


def played_tasks(spec: Any, split: str, size: int, seed: int) -> list[Any]:
    """The tasks a run plays: a validation draw of ``size`` (``split`` ``validation``) or the
    first ``size`` tasks of the train split (``train``)."""
    from mtml_rl.specs.splits import build_splits, validation_tasks

    if split == "train":
        return list(build_splits(spec)["train"].tasks)[:size]
    return validation_tasks(spec, size, seed)


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def measure(folder: Path, tasks: int, seed: int, split: str = "validation") -> Posture:
    """Play one deterministic episode per task (:func:`played_tasks`) and summarize the posture.

    Task ``i`` is reset with seed ``seed + i`` and played alone, so that every episode's
    observations are its own whatever its length (Hopper and Walker2d episodes can end early).
    """
    from mtml_rl.agents.loading import load_agent
    from mtml_rl.rollouts import rollout_agent

    run = load_run(folder)
    reader = torso_reader(run.spec.family_cls())
    agent = load_agent(run)
    returns, cos_tilt, speeds = [], [], []
    for i, task in enumerate(played_tasks(run.spec, split, tasks, seed)):
        recorder = _Recorder(agent)
        (episode,) = rollout_agent(recorder, run.spec, [task], seed=seed + i)
        observed = np.concatenate(recorder.observations)[: episode.length]  # (steps, obs)
        episode_cos, episode_speed = second_half(observed, reader)
        returns.append(episode.ret)
        cos_tilt.append(episode_cos)
        speeds.append(episode_speed)
    back, ret = np.array(cos_tilt) < 0, np.array(returns)
    return Posture(
        run=str(folder),
        mean_return=float(np.mean(returns)),
        on_back=int(back.sum()),
        return_on_back=_mean_or_none(ret[back]),
        return_upright=_mean_or_none(ret[~back]),
        episodes=len(returns),
        mean_speed=float(np.mean(speeds)),
        mean_cos_tilt=float(np.mean(cos_tilt)),
    )


def table(rows: Sequence[Posture]) -> str:
    """Markdown: one row per run."""
    lines = [
        "| run | mean return | episodes on its back | their return | the others' return "
        "| mean speed (m/s) | mean cos(tilt) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.run} | {r.mean_return:.1f} | {r.on_back}/{r.episodes} | {_cell(r.return_on_back)} "
            f"| {_cell(r.return_upright)} | {r.mean_speed:.2f} | {r.mean_cos_tilt:+.2f} |"
        )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _is_run_or_checkpoint(folder: Path) -> bool:
    run = folder.parent.parent if folder.parent.name == "checkpoints" else folder
    return (run / "config.yaml").is_file() and folder.is_dir()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders or RUN/checkpoints/step_N")
    parser.add_argument("--tasks", type=int, default=10, help="tasks to play (one episode each)")
    parser.add_argument(
        "--split",
        choices=("validation", "train"),
        default="validation",
        help="a validation draw of the train region, or the first tasks of the train split",
    )
    parser.add_argument("--seed", type=int, default=500, help="seed of the validation draw and resets")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parse_arguments(parser, argv)
    import torch as th

    th.set_num_threads(1)
    not_runs = [str(f) for f in args.runs if not _is_run_or_checkpoint(f)]
    if not_runs:
        print(f"error: not a run folder or RUN/checkpoints/step_N: {', '.join(not_runs)}", file=sys.stderr)
        return 2
    try:
        rows = [measure(folder, args.tasks, args.seed, args.split) for folder in args.runs]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table(rows))
    if args.json:
        atomic_write_text(args.json, json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("posture.py", main))
