"""Agents: the Protocol evaluation depends on, and the built-in methods' agents."""

from __future__ import annotations

from mtml_rl.agents.base import AdaptingAgent, Agent, ObsRequirements, has_adapt_step

__all__ = ["AdaptingAgent", "Agent", "ObsRequirements", "has_adapt_step"]
