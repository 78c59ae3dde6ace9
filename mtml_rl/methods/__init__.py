"""Methods: one registered object per way of training and deploying a policy.

The built-ins are ``dr``, ``oracle``, ``history`` and ``adapt`` (meta-policies that differ in
what feeds the task latent, :class:`~mtml_rl.methods.meta.MetaMethod`), ``rl2`` (a
recurrent policy over trials), ``finetune`` (the ``dr`` policy fine-tuned on each test
task), ``pearl`` (SAC over a probabilistic context encoder), and the multi-task ``onehot``
and ``multihead``, given the task id (:mod:`mtml_rl.methods.multitask`). A new method is one
:class:`Method` object registered with :func:`register_method` (or declared in the
entry-point group ``mtml_rl.methods``, or named as ``"pkg.module:object"``); see
``docs/methods.md``.

The interface and the registry are defined with training, which asks them
(:mod:`mtml_rl.training.method`, :mod:`mtml_rl.training.registry`), and re-exported here.
"""

from __future__ import annotations

from mtml_rl.methods.meta import MetaMethod
from mtml_rl.training.method import Method, MethodEnv, PolicySpec, policy_name
from mtml_rl.training.registry import (
    ENTRY_POINT_GROUP,
    get_method,
    method_names,
    register_method,
    registered_methods,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MetaMethod",
    "Method",
    "MethodEnv",
    "PolicySpec",
    "get_method",
    "method_names",
    "policy_name",
    "register_method",
    "registered_methods",
]
