"""Agents: the deployed policies of the built-in methods, and :func:`load_agent`.

The :class:`Agent` Protocol they implement (and a user's own agent implements) lives
with the rollouts that drive it (:mod:`mtml_rl.rollouts.agent`) and is re-exported here.
"""

from __future__ import annotations

from mtml_rl.agents.finetune import FinetuneAgent
from mtml_rl.agents.loading import load_agent
from mtml_rl.agents.pearl import PearlAgent
from mtml_rl.agents.policy import AdaptAgent, PolicyAgent
from mtml_rl.agents.rl2 import RL2Agent
from mtml_rl.rollouts.agent import AdaptingAgent, Agent, ObsRequirements, has_adapt_step

__all__ = [
    "AdaptAgent",
    "AdaptingAgent",
    "Agent",
    "FinetuneAgent",
    "ObsRequirements",
    "PearlAgent",
    "PolicyAgent",
    "RL2Agent",
    "has_adapt_step",
    "load_agent",
]
