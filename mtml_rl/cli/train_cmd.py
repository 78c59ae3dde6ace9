"""``mtml-rl train``: rl-baselines3-zoo-style flags over :class:`TrainConfig`."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import typing
from collections.abc import Callable
from typing import Any

from mtml_rl.cli.arguments import flag_of
from mtml_rl.errors import ConfigError
from mtml_rl.io import InputFileError, load_yaml_text
from mtml_rl.training.config import PER_METHOD_FIELDS, TrainConfig, is_whole_number_type
from mtml_rl.training.registry import read_by

MAPPING_FIELDS = ("hyperparams", "finetune_hyperparams")
"""Config fields given as ``KEY:VALUE`` pairs on the command line."""


AFTER_INTERRUPT = "the last checkpoint is whole: `mtml-rl train --resume RUN` goes on from it"
"""What the CLI says after Ctrl-C or SIGTERM stopped this command."""


def flag_type(field: dataclasses.Field[Any]) -> Callable[[str], Any]:
    """How a config field's flag reads its text: ``int`` for a whole-number field (``int`` or
    ``int | None``), as given for the rest; from the field's annotation, so that a field added
    later reads as its type says."""
    return int if is_whole_number_type(typing.get_type_hints(TrainConfig)[field.name]) else str


def add_parser(sub: Any) -> None:
    """Register the subcommand; flags are generated from the config's fields and their docs."""
    parser = sub.add_parser(
        "train",
        help="train a meta-policy on a task distribution",
        description="Train a meta-policy with an SB3 algorithm. Flags override --config.",
    )
    for f in dataclasses.fields(TrainConfig):
        if f.name in MAPPING_FIELDS:
            continue
        flag = flag_of(f.name)
        parser.add_argument(
            flag,
            dest=f.name,
            type=flag_type(f),
            default=None,
            help=_help_text(f),
        )
    parser.add_argument(
        "--hyperparams",
        nargs="+",
        metavar="KEY:VALUE",
        default=None,
        help="algorithm hyperparameter overrides, e.g. learning_rate:0.001 n_steps:128",
    )
    parser.add_argument(
        "--finetune-hyperparams",
        nargs="+",
        metavar="KEY:VALUE",
        default=None,
        help="finetune: the clone's hyperparameters on each test task, over the run's, e.g. n_steps:32",
    )
    parser.add_argument("--config", metavar="FILE", default=None, help="YAML file of config fields")
    parser.add_argument("--resume", metavar="RUN", default=None, help="continue RUN from its last checkpoint")
    parser.add_argument("--force", action="store_true", help="replace a run already in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run, after_interrupt=AFTER_INTERRUPT)


def _help_text(f: dataclasses.Field[Any]) -> str:
    """The field's help, with its default unless the help already names one."""
    text = str(f.metadata["help"])
    if "(default" in text:
        return text
    default = f.default if f.default is not dataclasses.MISSING else "{}"
    return f"{text} (default: {default})"


def parse_pairs(
    items: list[str], flag: str = "--hyperparams", separator: str = ":", key_name: str = "KEY"
) -> dict[str, Any]:
    """``["key:value", ...]`` (or another ``separator``) -> dict, values parsed as YAML scalars
    (``0.001``, ``1e-3``, ``true``, ``[64, 64]``; :func:`~mtml_rl.io.load_yaml_text`); ``flag`` and
    ``key_name`` name them in errors."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition(separator)
        if not sep or not key:
            raise ConfigError(f"{flag} expects {key_name}{separator}VALUE pairs, got {item!r}")
        try:
            out[key] = load_yaml_text(value)
        except InputFileError:
            raise ConfigError(f"{flag} {key}: cannot parse value {value!r}") from None
    return out


def build_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then ``--config``, then explicit flags."""
    data: dict[str, Any] = {}
    if args.config:
        data.update(TrainConfig.from_yaml(args.config).to_dict())
    for f in dataclasses.fields(TrainConfig):
        value = getattr(args, f.name, None)
        if f.name not in MAPPING_FIELDS and value is not None:
            data[f.name] = value
    for name in MAPPING_FIELDS:
        given = getattr(args, name, None)
        if given:
            flag = flag_of(name)
            data[name] = {**data.get(name, {}), **parse_pairs(given, flag)}
    return TrainConfig.from_dict(data, source=args.config or "command line")


def refuse_flags_not_read(args: argparse.Namespace, config: TrainConfig) -> None:
    """A :class:`ConfigError` naming the flags given for fields that only some methods read
    (:data:`~mtml_rl.training.config.PER_METHOD_FIELDS`) and the config's method does not:
    ``--method dr --adapt-timesteps 50000`` would train exactly what ``--method dr`` does,
    recording a setting that changed nothing. A ``--config`` file may hold them (a run's own
    ``config.yaml`` holds every field)."""
    given = [f for f in PER_METHOD_FIELDS if getattr(args, f, None) not in (None, [])]
    unread = config.resolved_method().fields_not_read(config, given)
    if not unread:
        return
    flags = ", ".join(f"{flag_of(name)} ({read_by(name, config)})" for name in unread)
    them = "it" if len(unread) == 1 else "them"
    raise ConfigError(
        f"method {config.method} does not read {flags}: its run would be the same without {them}; "
        f"drop {them}, or train a method that reads {them}"
    )


RESUME_TAKES = ("timesteps",)
"""The config fields ``--resume`` takes a flag of: the others are the run's own."""


def refuse_settings_with_resume(args: argparse.Namespace) -> None:
    """A :class:`ConfigError` naming the settings given with ``--resume`` that it would not use
    (they were dropped without a word: ``--resume RUN --hyperparams learning_rate:0.1``)."""
    if args.force:
        raise ConfigError("give --resume or --force, not both: --resume continues a run, --force replaces it")
    given = [
        flag_of(f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name not in RESUME_TAKES and getattr(args, f.name, None) not in (None, [])
    ]
    given += ["--config"] if args.config else []
    if given:
        raise ConfigError(
            f"--resume continues {args.resume} with its own settings and takes --timesteps (and --quiet) "
            f"only, not {', '.join(given)}; train a new run with them (another --out, or --force to "
            "replace this one)"
        )


def run(args: argparse.Namespace) -> int:
    """Train (or resume) and print where the run is."""
    from mtml_rl.training.train import resume, train  # torch and SB3: only once the command runs

    progress = False if args.quiet else None
    command = shlex.join(["mtml-rl", *sys.argv[1:]])  # quoted: the line reruns as it was
    if args.resume:
        refuse_settings_with_resume(args)
        result = resume(args.resume, timesteps=args.timesteps, progress=progress, command=command)
    else:
        config = build_config(args)
        refuse_flags_not_read(args, config)
        result = train(config, force=args.force, progress=progress, command=command)
    print(f"run finished: {result.path} ({result.model.num_timesteps} steps)")
    return 0
