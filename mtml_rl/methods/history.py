"""``history``: ``z = tanh(HistoryEncoder(last H transitions))``, trained end to end with the policy.

The actor and the critic each own their history encoder (``share_features_extractor:
False``): the critic's loss does not shape the latent the actor acts on. With PPO's shared
extractor and an unbounded ``z``, the policy learned a state-independent action bias on
Acrobot and acted with one constant action when deployed deterministically (-500 on every
task); docs/baselines.md has the measurements (``scripts/compare_history.py``).
"""

from __future__ import annotations

from mtml_rl.methods.meta import MetaMethod

HISTORY = MetaMethod(
    name="history",
    summary="z = tanh(HistoryEncoder(last H transitions)), trained end to end",
    report_order=10,
    latent_input="history",
    uses_history=True,
    extractor_kwargs={"history_tanh": True},
    policy_kwargs={"share_features_extractor": False},
)
