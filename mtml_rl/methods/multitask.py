"""Multi-task methods that are given the task id (the one-hot of the spec's categorical
parameters, e.g. Meta-World's environment), Meta-World's standard baselines:

- ``onehot``: a shared encoder conditioned on a learned embedding of the task id,
  ``[ObsEncoder(o), E · id]`` (MT-SAC / MT-PPO with one-hot task ids);
- ``multihead``: a shared trunk with one output head per task
  (:class:`~mtml_rl.policies.multihead.MultiHeadExtractor`): for PPO the policy and value heads,
  for SAC and TD3 the actor's head (the critics read the task's block of the trunk).

Both train through SB3's SAC, TD3 or PPO (``--algo``) and deploy with the task id and nothing
else of the task (:class:`~mtml_rl.agents.taskid.TaskIdAgent`); a spec whose tasks differ in no
categorical parameter is refused (:meth:`Method.check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gymnasium import spaces

from mtml_rl.envs.observation import task_id_index
from mtml_rl.methods.meta import MetaMethod
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.tasks.task import Task
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import PolicySpec, policy_name

if TYPE_CHECKING:  # torch and SB3 load on use (mtml_rl.methods.meta)
    from mtml_rl.rollouts import Agent
    from mtml_rl.training.run import Run


def _task_ids(config: TrainConfig) -> list[int]:
    """The run's task-id entries of the context (its spec was checked to have some)."""
    return task_id_index(resolve_spec(config.env))


@dataclass(frozen=True)
class OneHotMethod(MetaMethod):
    """A meta-policy whose task latent is a learned embedding of the task id."""

    def policy(
        self, config: TrainConfig, observation_space: spaces.Space, policy_kwargs: dict[str, Any]
    ) -> PolicySpec:
        """:class:`~mtml_rl.policies.extractor.MetaExtractor` with ``latent_input="task_id"``."""
        spec = super().policy(config, observation_space, policy_kwargs)
        spec.kwargs["features_extractor_kwargs"]["task_id_index"] = _task_ids(config)
        return spec

    def agent(self, run: Run) -> Agent:
        """The policy, given the task id and no other context entry."""
        from mtml_rl.agents.taskid import TaskIdAgent

        return TaskIdAgent(run)

    def cannot_play(self, spec: TaskSpec, tasks: Sequence[Task]) -> str:
        """Tasks with a held-out categorical value (ML10's test environments): the task id's
        entry for it was never trained, so the policy would act on an untrained embedding or
        head. Multi-task RL evaluates on its training environments; there is no fallback."""
        unseen = []
        for p in spec.categorical:
            held = sorted({str(t[p.name]) for t in tasks} - set(p.train_values))
            if held:
                unseen.append(f"{p.name} {', '.join(held)}")
        if not unseen:
            return ""
        return (
            f"{self.name} is given the task id, and these tasks have values it never trained on "
            f"({'; '.join(unseen)}), whose task-id entries are untrained (held-out values are for "
            "methods that need no task id: dr, adapt, rl2)"
        )


@dataclass(frozen=True)
class MultiHeadMethod(OneHotMethod):
    """A shared trunk (the hyperparameters' ``net_arch``) and one linear head per task."""

    def fields_read(self, config: TrainConfig) -> frozenset[str]:
        """None: the task id selects a head, it is not embedded in a latent."""
        return frozenset()

    def policy(
        self, config: TrainConfig, observation_space: spaces.Space, policy_kwargs: dict[str, Any]
    ) -> PolicySpec:
        """:class:`MultiHeadExtractor` as the trunk; empty ``net_arch`` for the heads (a critic
        of SAC or TD3 keeps the trunk's sizes over the task's block and the action)."""
        from mtml_rl.policies.multihead import MultiHeadExtractor
        from mtml_rl.training.algorithms import get_algo

        own = dict(config.hyperparams.get("policy_kwargs") or {})
        kwargs = {**dict(policy_kwargs), **own}
        kwargs.pop("features_extractor_kwargs", None)
        trunk = kwargs.pop("net_arch", None) or [256, 256]
        if isinstance(trunk, dict):  # {pi: [...], vf: [...]}: the trunk takes the policy's sizes
            trunk = trunk.get("pi") or [256, 256]
        off_policy = get_algo(config.algo).off_policy
        kwargs["net_arch"] = {"pi": [], "qf": list(trunk)} if off_policy else {"pi": [], "vf": []}
        kwargs["features_extractor_class"] = MultiHeadExtractor
        kwargs["features_extractor_kwargs"] = {"task_id_index": _task_ids(config), "trunk": list(trunk)}
        return PolicySpec(policy_name(observation_space), kwargs)


ONEHOT = OneHotMethod(
    name="onehot",
    summary="multi-task: a shared encoder and a learned embedding of the task id (MT-SAC/MT-PPO one-hot)",
    reads_context=True,
    needs_task_id=True,
    report_order=12,
    latent_input="task_id",
    context="privileged",
)
MULTIHEAD = MultiHeadMethod(
    name="multihead",
    summary="multi-task: a shared trunk with one output head per task id",
    reads_context=True,
    needs_task_id=True,
    report_order=14,
    latent_input="task_id",
    context="privileged",
)
