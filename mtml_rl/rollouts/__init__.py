"""Rollouts: episodes of a policy or an :class:`Agent` over a list of tasks, batched in one
vector env. The low layer that training (periodic evaluation), adaptation and evaluation
all use; it knows nothing about methods, runs or results."""

from __future__ import annotations

from mtml_rl.rollouts.agent import AdaptingAgent, Agent, ObsRequirements, has_adapt_step
from mtml_rl.rollouts.episodes import (
    EpisodeRecord,
    PolicyFn,
    TrialEpisode,
    play_plan,
    rollout_agent,
    rollout_tasks,
)
from mtml_rl.rollouts.plan import SlotPlan, parallel_plan, plan_slots, sequential_plan

__all__ = [
    "AdaptingAgent",
    "Agent",
    "EpisodeRecord",
    "ObsRequirements",
    "PolicyFn",
    "SlotPlan",
    "TrialEpisode",
    "has_adapt_step",
    "parallel_plan",
    "plan_slots",
    "play_plan",
    "rollout_agent",
    "rollout_tasks",
    "sequential_plan",
]
