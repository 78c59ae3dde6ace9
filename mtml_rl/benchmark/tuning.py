"""Hyperparameter tuning with Optuna, on the train split only.

Every method gets the same tuning budget: ``trials`` Optuna trials (TPE sampler, seeded),
each training ``seeds`` runs of ``timesteps`` steps and scoring them by the mean return of
deterministic episodes on the train split's tasks. The test splits cannot leak into the
choice: the runs train on a copy of the spec whose test splits are empty (:func:`train_only`:
its train tasks are the original's, task for task), with periodic evaluation off, so no test
task is ever built, let alone played.

The search space (:data:`SEARCH_SPACES`) depends on the algorithm; a method whose layout has
a history window also searches the window and latent size (:data:`HISTORY_SPACE`), and a
method adds its own hyperparameters through :meth:`~mtml_rl.training.method.Method.tuning_space`
(``pearl``: its KL weight). The
record of a study (:class:`TuningRecord`: the space, every trial and the chosen values) is
written as YAML; ``scripts/tune.py`` is the command line.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mtml_rl.errors import ConfigError
from mtml_rl.specs.spec import TaskSpec, parse_spec, resolve_spec
from mtml_rl.training import TrainConfig, train

TRAIN_SPLIT = "train"
TUNE_EVAL_SEED = 1_000
"""Reset seed of the scoring episodes (task ``i``: ``TUNE_EVAL_SEED + i``)."""

Space = dict[str, dict[str, Any]]
"""Parameter name -> ``{"log": [low, high]}``, ``{"uniform": [low, high]}`` or ``{"choice": [...]}``."""

SEARCH_SPACES: dict[str, Space] = {
    "ppo": {
        "learning_rate": {"log": [1e-4, 3e-3]},
        "n_steps": {"choice": [64, 128, 256, 512]},
        "gamma": {"choice": [0.95, 0.98, 0.99, 0.995]},
        "gae_lambda": {"choice": [0.8, 0.9, 0.95, 0.98]},
        "ent_coef": {"log": [1e-5, 1e-2]},
        "n_epochs": {"choice": [5, 10, 20]},
        "net_arch": {"choice": [[64, 64], [128, 128], [256, 256]]},
    },
    "sac": {
        "learning_rate": {"log": [1e-4, 3e-3]},
        "batch_size": {"choice": [64, 128, 256]},
        "gamma": {"choice": [0.95, 0.98, 0.99, 0.995]},
        "tau": {"choice": [0.005, 0.01, 0.02]},
        "net_arch": {"choice": [[64, 64], [128, 128], [256, 256]]},
    },
}
"""The hyperparameters searched per algorithm (``net_arch`` goes into ``policy_kwargs``)."""
HISTORY_SPACE: Space = {
    "history_len": {"choice": [8, 16, 32]},
    "latent_dim": {"choice": [4, 8, 16]},
}
"""Searched too where the method's training layout has a history window (training config fields)."""
CONFIG_FIELDS = frozenset(f.name for f in fields(TrainConfig))
"""Searched names that are :class:`TrainConfig` fields, not algorithm hyperparameters."""
HYPERPARAM_ALIASES = {"net_arch": "policy_kwargs.net_arch"}
"""Searched names that stand for a nested ``hyperparams`` entry."""
FIXED_BY_STUDY = frozenset(
    "env method algo timesteps seed eval_freq save_freq num_threads out hyperparams".split()
)
"""Fields a study sets itself (the same budget and protocol for every trial): never searched."""


@dataclass(frozen=True)
class TuneSetup:
    """One study: a method on a spec, with its budget.

    :param env: a spec id or file
    :param method: the method tuned
    :param algo: its algorithm
    :param trials: Optuna trials (the same for every method compared)
    :param timesteps: training steps of every run
    :param seeds: training seeds of every trial (its score is their mean)
    :param episodes: scoring episodes per train task
    :param sampler_seed: the TPE sampler's seed
    """

    env: str
    method: str
    algo: str
    trials: int
    timesteps: int
    seeds: tuple[int, ...] = (0,)
    episodes: int = 1
    sampler_seed: int = 0


@dataclass
class TuningRecord:
    """What a study searched, tried and chose (written as YAML).

    :param setup: the study's setup
    :param space: the search space
    :param trials: every trial's number, values and score
    :param best: the chosen values
    :param best_score: their score (mean train return)
    :param command: the command that ran the study
    """

    setup: dict[str, Any]
    space: Space
    trials: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)
    best_score: float | None = None
    command: str = ""

    def write(self, path: Path) -> None:
        """Write the record as YAML (parents created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(asdict(self), sort_keys=False))


def train_only(spec: TaskSpec) -> TaskSpec:
    """``spec`` with its test splits emptied: the same train tasks, and no others to read."""
    data = spec.to_dict()
    data["splits"] = {TRAIN_SPLIT: spec.split_sizes[TRAIN_SPLIT]}
    return parse_spec(data, source=f"{spec.source} (train split only, for tuning)")


def search_space(setup: TuneSetup) -> Space:
    """The algorithm's space, plus :data:`HISTORY_SPACE` where the method uses a history
    window, plus the method's own (:meth:`~mtml_rl.training.method.Method.tuning_space`)."""
    if setup.algo not in SEARCH_SPACES:
        raise ConfigError(
            f"no search space for algorithm {setup.algo!r}; tune one of {', '.join(SEARCH_SPACES)}"
        )
    space = dict(SEARCH_SPACES[setup.algo])
    probe = TrainConfig(env=setup.env, method=setup.method, algo=setup.algo)
    method = probe.resolved_method()
    if method.layout(probe).history_len > 0:
        space |= HISTORY_SPACE
    own = method.tuning_space(probe)
    fixed = sorted(FIXED_BY_STUDY & set(own))
    if fixed:
        raise ConfigError(
            f"method {setup.method}'s tuning_space searches {', '.join(fixed)}, which a study fixes "
            "for every trial (the same budget and protocol); search hyperparameters only"
        )
    return space | own


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Draw one value per parameter of ``space`` from an Optuna trial."""
    values: dict[str, Any] = {}
    for name, how in space.items():
        kind, arg = next(iter(how.items()))
        if kind == "log":
            values[name] = trial.suggest_float(name, arg[0], arg[1], log=True)
        elif kind == "uniform":
            values[name] = trial.suggest_float(name, arg[0], arg[1])
        else:
            index = trial.suggest_categorical(name, list(range(len(arg))))
            values[name] = arg[index]
    return values


def trial_config(
    setup: TuneSetup, spec_file: Path, values: Mapping[str, Any], seed: int, out: Path
) -> TrainConfig:
    """The training config of one run: the drawn values, no periodic evaluation, no checkpoints.

    A value goes to the :class:`TrainConfig` field of its name, or else to the ``hyperparams``
    entry its name (dotted: nested; ``net_arch``: ``policy_kwargs.net_arch``) points at."""
    hyperparams: dict[str, Any] = {}
    config_fields: dict[str, Any] = {}
    for name, value in values.items():
        if name in CONFIG_FIELDS:
            config_fields[name] = value
        else:
            path = HYPERPARAM_ALIASES.get(name, name).split(".")
            _set_nested(hyperparams, path, list(value) if isinstance(value, tuple | list) else value)
    return TrainConfig(
        env=str(spec_file),
        method=setup.method,
        algo=setup.algo,
        timesteps=setup.timesteps,
        seed=seed,
        eval_freq=0,
        save_freq=0,
        num_threads=1,
        out=str(out),
        hyperparams=hyperparams,
        **config_fields,
    )


def _set_nested(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def score(config: TrainConfig, episodes: int) -> float:
    """Train one run and return its mean return on the train split."""
    run = train(config, force=True, progress=False)
    records = run.evaluate(TRAIN_SPLIT, episodes=episodes, seed=TUNE_EVAL_SEED)
    return float(np.mean([r.ret for r in records]))


def tune(setup: TuneSetup, log: Callable[[str], None] = print) -> TuningRecord:
    """Run the study; return its record (the caller writes it)."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("tuning needs Optuna; install it with `pip install mtml-rl[tune]`") from None

    spec = train_only(resolve_spec(setup.env))
    space = search_space(setup)
    record = TuningRecord(asdict(setup), space)
    with tempfile.TemporaryDirectory(prefix="mtml-tune-") as tmp:
        spec_file = Path(tmp) / "spec.yaml"
        spec_file.write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False))

        def objective(trial: Any) -> float:
            values = suggest(trial, space)
            scores = [
                score(
                    trial_config(setup, spec_file, values, s, Path(tmp) / f"t{trial.number}-s{s}"),
                    setup.episodes,
                )
                for s in setup.seeds
            ]
            mean = float(np.mean(scores))
            record.trials.append(
                {"number": trial.number, "values": values, "score": mean, "per_seed": scores}
            )
            log(f"trial {trial.number}: {mean:.2f} {values}")
            return mean

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=setup.sampler_seed)
        )
        study.optimize(objective, n_trials=setup.trials)
    best = max(record.trials, key=lambda t: t["score"] if math.isfinite(t["score"]) else -math.inf)
    record.best, record.best_score = best["values"], best["score"]
    return record


def default_record_path(setup: TuneSetup, root: Path = Path("tuning")) -> Path:
    """``tuning/<spec name>-<method>-<algo>.yaml``."""
    return root / f"{resolve_spec(setup.env).name}-{setup.method}-{setup.algo}.yaml"
