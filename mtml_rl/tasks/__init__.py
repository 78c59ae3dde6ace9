"""The task model: parameter schemas, tasks and regions of parameter space.

This is the lowest layer of the package: it knows nothing of families, specs or
environments. Specs and splits, which are validated against families, live in
:mod:`mtml_rl.specs`.
"""

from __future__ import annotations

from mtml_rl.tasks.params import FamilyParams, ParamSpec, ParamValue, categorical, param, schema
from mtml_rl.tasks.regions import Interval, Region, ValueSet
from mtml_rl.tasks.task import Task

__all__ = [
    "FamilyParams",
    "Interval",
    "ParamSpec",
    "ParamValue",
    "Region",
    "Task",
    "ValueSet",
    "categorical",
    "param",
    "schema",
]
