"""``mtml-rl list``: environments and families, every parameter of one, or an env's targets.

- ``mtml-rl list``: every registered environment id, every family and every method;
- ``mtml-rl list ID_OR_SPEC_OR_FAMILY``: every parameter of a spec (a registered id or a
  ``.yaml`` path) or of a family (a name or ``pkg.module:Class``): default, physical
  bounds, unit and meaning, and for a spec how each one is used (its regions, a fixed
  value, or the default);
- ``mtml-rl list --gym ID``: the numbers of a Gymnasium environment a ``gymnasium:`` block
  can target.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import gymnasium as gym
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mtml_rl.errors import ConfigError, FamilyError, UnknownNameError
from mtml_rl.families.checks import FamilyClass
from mtml_rl.families.registry import (
    GENERIC_FAMILY,
    family_names,
    family_origin,
    get_family,
    is_family_ref,
)
from mtml_rl.families.sim import is_sim_family
from mtml_rl.families.wrap.discover import survey
from mtml_rl.specs.spec import TaskSpec, builtin_specs, resolve_spec
from mtml_rl.tasks.params import ParamSpec
from mtml_rl.training.registry import get_method, method_names

GENERIC_TEXT = (
    "any registered Gymnasium id; its parameters are declared by a spec's 'gymnasium:' block "
    "(docs/families.md)"
)


AFTER_INTERRUPT = "nothing was written"
"""What the CLI says after Ctrl-C or SIGTERM stopped this command."""


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "list",
        help="list environments and families, or every parameter of one",
        description="Without an argument: every registered environment id, every family and "
        "every method. "
        "With one: every parameter (default, physical bounds, unit, meaning) of a spec (a "
        "registered id or a .yaml path) or a family (a name or 'pkg.module:Class').",
    )
    parser.add_argument(
        "target",
        nargs="?",
        default=None,
        help="an environment id, a spec file, a family or 'pkg.module:Class'",
    )
    parser.add_argument(
        "--gym",
        metavar="ID",
        default=None,
        help="list the numbers of a Gymnasium environment that a 'gymnasium:' block can target",
    )
    parser.set_defaults(func=run, after_interrupt=AFTER_INTERRUPT)


def run(args: argparse.Namespace) -> int:
    """Print the table(s)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    if args.gym is not None:
        table, problems = _gym_table(args.gym)
        console.print(table)
        for problem in problems:
            console.print(f"note: a spec of {escape(args.gym)} is refused: {escape(problem)}", soft_wrap=True)
    elif args.target is None:
        console.print(_environments_table())
        console.print(_families_table())
        console.print(_methods_table())
    else:
        for renderable in _describe(args.target):
            console.print(renderable)
    return 0


# ------------------------------------------------------------------------------ overview
def _environments_table() -> Table:
    table = Table(title="mtml-rl environments")
    for column in ("id", "family", "varying parameters (train region)", "splits", "steps"):
        table.add_column(column)
    for spec_id, spec in sorted(builtin_specs().items()):
        varying = "; ".join(f"{p.name} {p.train.as_list()}" for p in spec.parameters)
        splits = ", ".join(f"{k}:{v}" for k, v in spec.split_sizes.items() if v)
        table.add_row(*map(escape, (spec_id, spec.family, varying, splits, str(spec.max_episode_steps))))
    return table


def _families_table() -> Table:
    table = Table(title="families (mtml-rl list FAMILY shows every parameter)")
    for column in ("family", "kind", "parameters", "from"):
        table.add_column(column)
    for name in family_names():
        try:
            cls = get_family(name)
        except FamilyError as exc:  # an installed plugin that does not import
            table.add_row(*map(escape, (name, "unavailable", str(exc), family_origin(name))))
            continue
        table.add_row(*map(escape, (name, _kind(cls), ", ".join(cls.param_names()), family_origin(name))))
    table.add_row(*map(escape, (GENERIC_FAMILY, "simulator", GENERIC_TEXT, family_origin(GENERIC_FAMILY))))
    return table


def _methods_table() -> Table:
    table = Table(title="methods (mtml-rl train --method NAME)")
    for column in ("method", "what it does", "deploys"):
        table.add_column(column)
    for name in method_names():
        try:
            method = get_method(name)
        except (ConfigError, UnknownNameError, ImportError) as exc:
            table.add_row(*map(escape, (name, f"unavailable: {exc}", "")))
            continue
        deploys = "with the true context (privileged)" if method.privileged else "without the context"
        if method.needs_task_id:
            deploys = "with the task id only"
        if method.trains_as:
            deploys += f"; trains as {method.trains_as}, deploys its runs (evaluate --deploy-as {name})"
        if method.first_phase:
            phase = method.first_phase
            deploys += f"; its first phase is {phase}'s training (evaluate --deploy-as {phase})"
        table.add_row(*map(escape, (name, method.summary, deploys)))
    return table


def _kind(cls: FamilyClass) -> str:
    reference = getattr(cls, "reference_id", None)
    kind = "simulator" if is_sim_family(cls) else "numpy"
    return f"{kind} ({reference})" if reference else kind


# ------------------------------------------------------------------------------ one spec or family
def _describe(text: str) -> list[Any]:
    if text == GENERIC_FAMILY:
        more = "; `mtml-rl list --gym ID` shows what it can target"
        return [f"[bold]{GENERIC_FAMILY}[/bold]: " + escape(GENERIC_TEXT + more)]
    try:
        return _describe_spec(resolve_spec(text))
    except UnknownNameError:
        if not (is_family_ref(text) or text in family_names()):
            raise UnknownNameError(
                "environment id or family",
                text,
                [*builtin_specs(), *family_names()],
                hint="Pass a registered id, a spec .yaml path, a family name or 'pkg.module:Class'.",
            ) from None
    return _describe_family(get_family(text), text)


def _describe_family(cls: FamilyClass, text: str) -> list[Any]:
    origin = family_origin(text) if not is_family_ref(text) else text
    header = f"[bold]{escape(cls.name)}[/bold]: " + escape(f"{_kind(cls)} family, {origin}")
    table = _parameter_table(f"parameters of {cls.name}", cls.param_specs(), None)
    return [header, table]


def _describe_spec(spec: TaskSpec) -> list[Any]:
    cls = spec.family_cls
    family = spec.family
    if spec.gymnasium is not None:
        family = f"{GENERIC_FAMILY} ({spec.gymnasium.env_id}; tasks name it {spec.family})"
    splits = ", ".join(f"{k}:{v}" for k, v in spec.split_sizes.items() if v)
    lines = [
        f"family: {family}; {_kind(cls)}",
        f"splits: {splits}; max_episode_steps: {spec.max_episode_steps}; context: {spec.context}",
    ]
    if spec.description:
        lines.append(spec.description)
    header = f"[bold]{escape(spec.id)}[/bold] " + escape(f"({spec.source})\n" + "\n".join(lines))
    return [header, _parameter_table(f"parameters of {spec.id}", cls.param_specs(), spec)]


def _parameter_table(title: str, params: tuple[ParamSpec, ...], spec: TaskSpec | None) -> Table:
    table = Table(title=title)
    columns = ["parameter", "default", "bounds", "unit", "meaning"]
    targets = {}
    if spec is not None and spec.gymnasium is not None:
        targets = {p.name: p.target.text + (" (scale)" if p.scale else "") for p in spec.gymnasium.parameters}
        columns.append("target")
    if spec is not None:
        columns.append("in this spec")
    for column in columns:
        table.add_column(column)
    for p in params:
        row = [p.name, _number(p.default), _bounds(p), p.unit, p.doc]
        if targets:
            row.append(targets[p.name])
        if spec is not None:
            row.append(_usage(spec, p.name))
        table.add_row(*map(escape, row))
    return table


def _usage(spec: TaskSpec, name: str) -> str:
    if name in spec.varying:
        p = spec.parameter(name)
        held_out = f"; extrapolation {p.extrapolation.as_list()}" if p.extrapolation is not None else ""
        return f"varies: train {p.train.as_list()}{held_out}"
    if name in spec.fixed:
        return f"fixed at {_number(spec.fixed[name])}"
    return "default"


def _number(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return f"{value:.6g}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _bounds(p: ParamSpec) -> str:
    """``[low, high]``, or the values of a categorical parameter (the first few of many)."""
    if not p.categorical:
        return f"[{_number(p.low)}, {_number(p.high)}]"
    shown = ", ".join(p.values[:6]) + (f", ... ({len(p.values)} values)" if len(p.values) > 6 else "")
    return f"one of {shown}"


# ------------------------------------------------------------------------------ --gym
def _gym_table(env_id: str) -> tuple[Table | str, list[str]]:
    """The numbers of ``env_id`` a ``gymnasium:`` block can target (a line saying so if none),
    and what would keep a spec of it from being built."""
    try:
        candidates, problems = survey(env_id)
    except (gym.error.Error, ImportError) as exc:
        raise ConfigError(f"--gym: cannot build {env_id!r}: {exc}") from None
    if not candidates:
        return (
            f"{escape(env_id)}'s environment holds no number as a public attribute and no MuJoCo "
            "model: a 'gymnasium:' block has nothing to vary in it"
        ), problems
    table = Table(title=f"numbers of {env_id} a 'gymnasium:' block can target")
    for column in ("target", "value", "meaning"):
        table.add_column(column)
    for candidate in candidates:
        table.add_row(*map(escape, (candidate.target, _number(candidate.value), candidate.meaning)))
    return table, problems
