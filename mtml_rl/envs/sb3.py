"""A thin Stable-Baselines3 ``VecEnv`` over :class:`~mtml_rl.envs.vector.MultiTaskVectorEnv`.

It converts Gymnasium's batched step to SB3's conventions: ``dones = terminated |
truncated``, ``info["terminal_observation"]`` on finished slots and
``info["TimeLimit.truncated"]`` (true only for time-outs that did not also terminate),
so that SB3 bootstraps the value of truncated episodes. Finished episodes also carry
``info["episode_task"]`` (the task id) and, where defined, ``info["is_success"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from mtml_rl.envs.vector import MultiTaskVectorEnv


class SB3VecEnv(VecEnv):
    """Expose a :class:`MultiTaskVectorEnv` to SB3 algorithms.

    :param venv: the batched multi-task vector env (it is seeded through :meth:`seed`)
    """

    def __init__(self, venv: MultiTaskVectorEnv) -> None:
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self.render_mode = venv.render_mode

    def reset(self) -> VecEnvObs:
        """Reset every slot (with the seeds given to :meth:`seed`, if any)."""
        seeds = self._seeds
        seed = None if any(s is None for s in seeds) else [int(s) for s in seeds if s is not None]
        obs, info = self.venv.reset(seed=seed)
        self.reset_infos = [{"task_index": int(i)} for i in info["task_index"]]
        self._reset_seeds()
        self._reset_options()
        return obs

    def discard_pending_seeds(self) -> None:
        """Forget the seeds given to :meth:`seed`, so that the next reset continues every
        slot's streams instead of reseeding them (what a resumed run needs)."""
        self._reset_seeds()

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions for :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step the vector env and translate to SB3's return format."""
        assert self._actions is not None, "step_async must be called before step_wait"
        actions = self._actions
        if isinstance(self.action_space, gym.spaces.Discrete):
            actions = np.asarray(actions).reshape(self.num_envs)
        obs, reward, terminated, truncated, info = self.venv.step(actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            tasks = self.venv.tasks
            for i in np.flatnonzero(dones):
                slot_info = infos[i]
                slot_info["terminal_observation"] = info["final_obs"][i]
                slot_info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                slot_info["episode_task"] = tasks[info["final_task_index"][i]].id
                if "final_is_success" in info:
                    slot_info["is_success"] = bool(info["final_is_success"][i])
        return obs, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        """Close the underlying env."""
        self.venv.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        """Frames of slot 0 (the vector env renders one slot)."""
        frames = self.venv.render()
        return list(frames) if frames is not None else [None]

    # -- attribute access (the vector env is one object: every index sees it) -------------
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute, once per requested index."""
        return [getattr(self.venv, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute on the vector env."""
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call a method of the vector env once."""
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """The vector env is never wrapped by Gymnasium wrappers."""
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices
