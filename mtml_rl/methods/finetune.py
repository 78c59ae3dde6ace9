"""``finetune``: trained as ``dr``; at evaluation a clone of the policy is trained further on
each test task before acting on it (:class:`~mtml_rl.agents.finetune.FinetuneAgent`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mtml_rl.methods.meta import MetaMethod
from mtml_rl.training.config import TrainConfig

if TYPE_CHECKING:  # torch and SB3 load on use (mtml_rl.methods.meta)
    from mtml_rl.rollouts import Agent
    from mtml_rl.specs.spec import TaskSpec
    from mtml_rl.training.run import Run


@dataclass(frozen=True)
class FinetuneMethod(MetaMethod):
    """A context-blind policy, fine-tuned per test task at deployment."""

    def agent(self, run: Run) -> Agent:
        """An agent that fine-tunes a fresh clone on each task (its ``adapt`` step)."""
        from mtml_rl.agents.finetune import FinetuneAgent

        return FinetuneAgent(run)

    def check(self, config: TrainConfig, spec: TaskSpec) -> None:
        """Also refuse clone hyperparameters the algorithm does not take, before training."""
        super().check(config, spec)
        from mtml_rl.training.hyperparams import clone_overrides  # SB3: only once a run is checked

        clone_overrides(self.algorithm(config), config.finetune_hyperparams)

    def estimated_cost(self, config: TrainConfig, spec: TaskSpec, steps: int, test_tasks: int) -> int:
        """Training, and a clone's training on each test task."""
        from mtml_rl.agents.finetune import clone_work  # SB3: only on use

        return super().estimated_cost(config, spec, steps, test_tasks) + test_tasks * clone_work(config, spec)

    def test_task_steps(self, config: TrainConfig, spec: TaskSpec) -> int:
        """The clone's steps on each test task: ``finetune_timesteps`` in whole rollouts."""
        from mtml_rl.agents.finetune import clone_budget  # SB3: only on use

        return clone_budget(config, spec).taken

    def budget_note(self, config: TrainConfig) -> str:
        """The fine-tuning steps each test task costs: ``finetune_timesteps`` rounded up to the
        clone's whole rollouts, as SB3 trains (with the steps asked where that differs), and the
        clone's own hyperparameters, if any."""
        from mtml_rl.agents.finetune import clone_budget  # SB3: only on use

        budget = clone_budget(config)
        notes = (
            [f"{budget.asked:,} asked, in whole rollouts of {budget.rollout:,}"]
            if budget.taken != budget.asked
            else []
        )
        clone = ", ".join(f"{k} {v}" for k, v in sorted(config.finetune_hyperparams.items()))
        notes += [f"clone: {clone}"] if clone else []
        return f"+ {budget.taken:,} steps on each test task" + (f" ({'; '.join(notes)})" if notes else "")


FINETUNE = FinetuneMethod(
    name="finetune",
    summary="the dr policy, fine-tuned on each test task before acting on it",
    report_order=30,
    trains_as="dr",
    deployment_fields=("finetune_timesteps", "finetune_hyperparams"),
)
