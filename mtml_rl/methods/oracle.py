"""``oracle``: the policy reads the true context, ``z = EnvEncoder(context)`` (the upper bound)."""

from __future__ import annotations

from mtml_rl.methods.meta import MetaMethod

ORACLE = MetaMethod(
    name="oracle",
    summary="z = EnvEncoder(true context): the privileged upper bound",
    label="oracle (privileged)",
    reads_context=True,
    privileged=True,
    report_order=100,
    gap_end="privileged",
    latent_input="context",
    context="privileged",
)
