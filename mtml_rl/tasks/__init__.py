"""The task model: parameter schemas, tasks, specs and held-out splits."""

from __future__ import annotations

from mtml_rl.tasks.params import FamilyParams, ParamSpec, param, schema
from mtml_rl.tasks.spec import TaskSpec, builtin_specs, load_spec_file, parse_spec, resolve_spec
from mtml_rl.tasks.splits import Split, Splits, build_splits
from mtml_rl.tasks.task import Task

__all__ = [
    "FamilyParams",
    "ParamSpec",
    "Split",
    "Splits",
    "Task",
    "TaskSpec",
    "build_splits",
    "builtin_specs",
    "load_spec_file",
    "param",
    "parse_spec",
    "resolve_spec",
    "schema",
]
