"""Videos of evaluated episodes: ``rgb_array`` frames written as MP4 (imageio + ffmpeg).

For every run, ``N`` episodes (one trial's worth carried over, as evaluated) on the first
task of each evaluated split, in the single environment with the agent's observation layout
(the context withheld unless the agent is the oracle). File names carry the run, the split
and the task's parameter values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtml_rl.envs.factory import make_task_env
from mtml_rl.evaluation.plan import EvalConfig, SpecPlan
from mtml_rl.evaluation.rendering import check_rendering
from mtml_rl.rollouts import Agent, has_adapt_step
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import build_splits
from mtml_rl.tasks.task import Task

__all__ = ["VIDEOS", "check_rendering", "play_frames", "record_videos", "video_name", "write_mp4"]

VIDEOS = "videos"


def video_name(run_id: str, method: str, split: str, task: Task, names: Sequence[str], episode: int) -> str:
    """``<run>-<method>-<split>-<family>_<param>=<value>..._ep<k>.mp4`` (filesystem-safe), with
    the values of the parameters ``names`` (the spec's varying ones)."""
    params = "_".join(f"{k}={task[k]:.4g}" for k in names)
    stem = f"{run_id}-{method}-{split}-{task.family}_{params}_ep{episode}"
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", stem) + ".mp4"


def _batch(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: np.asarray(v)[None] for k, v in obs.items()}
    return np.asarray(obs)[None]


def play_frames(
    agent: Agent,
    spec: TaskSpec,
    task: Task,
    *,
    episodes: int,
    trial_episodes: int,
    seed: int,
    deterministic: bool,
) -> Iterator[list[np.ndarray]]:
    """The frames of ``episodes`` consecutive episodes of ``task`` (trials of
    ``trial_episodes``), one episode at a time: a caller that writes each before taking the
    next holds one episode's frames (CartPole's 500 steps at 600 x 400 are 360 MB), not all."""
    req = agent.requirements
    env = make_task_env(
        spec,
        task=task,
        context=req.context,
        history_len=req.history_len,
        trial_episodes=trial_episodes,
        render_mode="rgb_array",
    )
    if has_adapt_step(agent):
        agent.adapt(spec, task, seed)  # type: ignore[attr-defined]
    agent.reset(1)
    obs, _ = env.reset(seed=seed)
    try:
        yield from _episodes(agent, env, obs, spec, episodes, trial_episodes, deterministic)
    finally:
        env.close()


def _episodes(
    agent: Agent, env: Any, obs: Any, spec: TaskSpec, episodes: int, trial_episodes: int, deterministic: bool
) -> Iterator[list[np.ndarray]]:
    for k in range(episodes):
        frames = [np.asarray(env.render())]
        for t in range(spec.max_episode_steps):
            action = agent.act(_batch(obs), deterministic)
            obs, reward, terminated, _, _ = env.step(action[0])
            done = terminated or t == spec.max_episode_steps - 1
            starts = done and (k + 1) % trial_episodes == 0
            agent.observe(action, np.array([reward]), np.array([done]), np.array([starts]))
            frames.append(np.asarray(env.render()))
            if done:
                break
        yield frames
        obs, _ = env.reset(options={"new_trial": True} if (k + 1) % trial_episodes == 0 else None)


def write_mp4(path: Path, frames: Sequence[np.ndarray], fps: int) -> None:
    """Encode frames as H.264 MP4."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, list(frames), fps=fps, codec="libx264", macro_block_size=2, quality=7)


def record_videos(plans: dict[str, SpecPlan], config: EvalConfig, folder: Path) -> list[str]:
    """Record ``config.video`` episodes per run on the first task of each split; returns the
    files' paths relative to ``folder``."""
    written = []
    for p in plans.values():
        fps = check_rendering(p.spec)
        for split in p.splits:
            task = build_splits(p.spec)[split].tasks[0]
            for lr in p.runs:
                episodes = play_frames(
                    lr.agent,
                    p.spec,
                    task,
                    episodes=config.video,
                    trial_episodes=lr.record.trial_episodes,
                    seed=config.seed,
                    deterministic=config.deterministic,
                )
                for k, frames in enumerate(episodes):
                    name = video_name(lr.record.id, lr.record.method, split, task, p.spec.varying, k)
                    write_mp4(folder / VIDEOS / name, frames, fps)
                    written.append(f"{VIDEOS}/{name}")
    return written
