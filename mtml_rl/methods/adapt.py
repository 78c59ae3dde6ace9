"""``adapt``: RMA-style adaptation. Phase 1 trains the policy on ``z = EnvEncoder(context)``;
phase 2 (after training) trains ``ẑ = AdaptationModule(history)`` by DAgger; the deployed
agent acts with ``ẑ`` and never reads the context."""

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
class AdaptMethod(MetaMethod):
    """A meta-policy trained on the true context, then deployed with an adaptation module."""

    def post_train(self, run: Run, n_envs: int) -> None:
        """Phase 2: train, measure and save the adaptation module."""
        from mtml_rl.adaptation.orchestration import run_phase2

        run_phase2(run, n_envs)

    def agent(self, run: Run) -> Agent:
        """The policy acting with ``ẑ`` from the adaptation module, the context withheld."""
        from mtml_rl.agents.policy import AdaptAgent

        return AdaptAgent(run)

    def environment_steps(self, config: TrainConfig, steps: int) -> int:
        """Phase 1's steps and phase 2's."""
        return steps + config.adapt_timesteps

    def estimated_cost(self, config: TrainConfig, spec: TaskSpec, steps: int, test_tasks: int) -> int:
        """Phase 1's training, and phase 2's steps: each collected once (the policy's and the
        module's inference), then regressed on ``replay × adapt_epochs`` times."""
        from mtml_rl.adaptation.phase2 import Phase2Config  # torch: only on use

        phase2 = config.adapt_timesteps * (1 + (Phase2Config.replay or 1) * config.adapt_epochs)
        return super().estimated_cost(config, spec, steps, test_tasks) + round(phase2)

    def budget_note(self, config: TrainConfig) -> str:
        """The phase-2 steps."""
        return f"+ {config.adapt_timesteps:,} phase-2 steps"


ADAPT = AdaptMethod(
    name="adapt",
    summary="phase 1 on z = EnvEncoder(context), then ẑ = AdaptationModule(history) by DAgger",
    reads_context=True,
    report_order=0,
    post_training="phase2",
    latent_input="context",
    context="privileged",
    uses_history=True,
    first_phase="oracle",
    later_phase_fields=(
        "history_len",
        "history_arch",
        "history_hidden",
        "adapt_timesteps",
        "adapt_iterations",
        "adapt_epochs",
    ),
    deployment_fields=("adapt_probe_steps",),
)
