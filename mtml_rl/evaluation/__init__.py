"""Evaluation: rollouts on held-out tasks, scores and reports."""
