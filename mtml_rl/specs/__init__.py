"""Task-distribution specs (``envs/*.yaml``) and their held-out splits.

A spec is validated against its family's parameter schema, so this package sits above
:mod:`mtml_rl.families`; the task model it builds on is :mod:`mtml_rl.tasks`.
"""

from __future__ import annotations

from mtml_rl.specs.spec import TaskSpec, builtin_specs, load_spec_file, parse_spec, resolve_spec
from mtml_rl.specs.splits import Split, Splits, build_splits

__all__ = [
    "Split",
    "Splits",
    "TaskSpec",
    "build_splits",
    "builtin_specs",
    "load_spec_file",
    "parse_spec",
    "resolve_spec",
]
