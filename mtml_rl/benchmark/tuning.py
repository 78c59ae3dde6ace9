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
written as YAML after every trial; ``scripts/tune.py`` is the command line.

A study can fix the protocol its runs train with (:attr:`TuneSetup.fixed`, e.g. a benchmark
grid's settings for the family and method, :func:`grid_protocol`), so that values are chosen
under the protocol they are used with. A study resumes: run again with the same setup, it
reads its record and draws only the trials still missing, and each trial is drawn by a TPE
sampler seeded from the study's seed and the trial's number over the trials before it, so a
study interrupted and resumed chooses what it would have chosen in one go.

A study can confirm its choice (:class:`Confirmation`): a screen of one or few seeds ranks the
trials, then the best ``top`` trials (and the scored defaults) train again with more seeds, and
the choice is the candidate with the best mean over all its seeds. On a family whose runs
either solve it or do not (MountainCarContinuous's flag), a one-seed screen ranks the seeds'
luck as much as the values; the confirmation costs ``top + 1`` candidates' extra seeds, not
every trial's.
"""

from __future__ import annotations

import copy
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mtml_rl.benchmark.config import BenchmarkConfig, env_key
from mtml_rl.benchmark.trials import trial_config as grid_trial_config
from mtml_rl.errors import ConfigError
from mtml_rl.io import InputFileError, atomic_write_yaml, dump_yaml, read_yaml_file
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, parse_spec, resolve_spec
from mtml_rl.training import TrainConfig, train
from mtml_rl.training.config import with_fields_added_since
from mtml_rl.training.rundir import cpu_kernels, describe_kernels

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
PER_RUN_FIELDS = frozenset("env method algo timesteps seed eval_freq save_freq num_threads out".split())
"""Fields a study sets per run: not part of a fixed protocol."""
MAX_RECORD_BYTES = 4_000_000
"""A study's record larger than this is refused when resumed (it is not one)."""
RECORD_VERSION = 2
"""The version of the record's format this code writes (a record without one is version 1;
version 2 added ``confirmation`` and ``cpu_kernels``). Raise it when a field is added: code
that does not know a field must refuse the record rather than resume it and write it back
without that field."""
DEFAULTS = "defaults"
"""The candidate name of the method's default values in a confirmation."""


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
    :param fixed: :class:`TrainConfig` fields every run trains with (``hyperparams``: the base
        the drawn algorithm hyperparameters are merged into); a searched value replaces its field
    """

    env: str
    method: str
    algo: str
    trials: int
    timesteps: int
    seeds: tuple[int, ...] = (0,)
    episodes: int = 1
    sampler_seed: int = 0
    fixed: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What a resumed study must share with the record it continues (all but ``trials``),
        as plain YAML data."""
        data = asdict(self)
        del data["trials"]
        return _plain(data)


@dataclass(frozen=True)
class Confirmation:
    """A study's second stage: its best ``top`` trials (by their screen score) and its scored
    defaults train again with ``seeds``, and the choice is the candidate whose mean return over
    the screen's and these seeds is highest.

    :param seeds: the extra training seeds of every candidate (none of the screen's)
    :param top: how many of the best trials are candidates
    """

    seeds: tuple[int, ...]
    top: int = 3

    def check(self, setup: TuneSetup) -> None:
        """Refuse a confirmation that would not add evidence: no seeds, a seed twice or one the
        screen used, or no candidate."""
        if self.top < 1 or not self.seeds:
            raise ConfigError("a confirmation needs at least one candidate (--confirm-top) and one seed")
        reused = sorted(set(self.seeds) & set(setup.seeds))
        if reused or len(set(self.seeds)) != len(self.seeds):
            why = f" (the screen already trains seed {', '.join(map(str, reused))})" if reused else ""
            raise ConfigError(f"the confirmation's seeds must be new ones, each once{why}")


@dataclass
class TuningRecord:
    """What a study searched, tried and chose (written as YAML).

    :param setup: the study's setup
    :param space: the search space
    :param trials: every trial's number, values and score
    :param best: the best trial's values
    :param best_score: their score (mean train return)
    :param defaults: the score of the method's default values under the same setup
        (``score`` and ``per_seed``), where the study was asked for it: what tuning gained.
        Scored defaults are one more candidate: :meth:`chosen` keeps them when they score
        above every trial
    :param confirmation: the second stage, where the study was asked for one: its ``seeds``,
        ``top`` and ``candidates`` (each: ``candidate``, a trial's number or ``"defaults"``;
        ``per_seed``, the returns of the confirmation's seeds; ``score``, the mean over the
        screen's and the confirmation's seeds). The choice is then the best confirmed candidate
    :param command: the command that ran the study
    """

    setup: dict[str, Any]
    space: Space
    trials: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)
    best_score: float | None = None
    defaults: dict[str, Any] | None = None
    confirmation: dict[str, Any] | None = None
    cpu_kernels: list[str] = field(default_factory=list)
    command: str = ""

    def write(self, path: Path) -> None:
        """Write the record as YAML (parents created), atomically, with its format's version."""
        atomic_write_yaml(path, {"version": RECORD_VERSION, **_plain(asdict(self))})

    def add(self, number: int, params: dict[str, Any], values: dict[str, Any], scores: list[float]) -> float:
        """Record a finished trial (Optuna's raw ``params`` and the values they stand for);
        the best so far becomes the choice. Returns the trial's score (mean over seeds)."""
        self.trials.append({"number": number, "values": values, "params": params, **_scores(scores)})
        best = max(self.trials, key=lambda t: _finite(t["score"]))
        self.best, self.best_score = best["values"], best["score"]
        return float(self.trials[-1]["score"])

    def defaults_win(self) -> bool:
        """Whether the default values are the choice (they were scored, and score above the best
        trial, or, after a confirmation, above every confirmed trial)."""
        return self.chosen_candidate() == DEFAULTS

    def chosen(self) -> dict[str, Any]:
        """The values to train with: the chosen trial's, or none (the method's defaults) where
        the defaults are the choice (:meth:`chosen_candidate`)."""
        choice = self.chosen_candidate()
        if choice is None or choice == DEFAULTS:
            return {}
        return dict(self.trials[int(choice)]["values"])

    def chosen_candidate(self) -> int | str | None:
        """The choice: a trial's number, ``"defaults"``, or ``None`` for a study without trials.
        Without a confirmation, the best trial, or the defaults where they were scored and score
        above it; with a finished confirmation (every current candidate confirmed), the candidate
        with the best mean over all its seeds."""
        confirmed = self.confirmed()
        if confirmed:
            if len(confirmed) < len(self._current_candidates()):
                raise ConfigError(
                    "the study's confirmation is unfinished (it has unconfirmed candidates); run the "
                    "study again with its --confirm-top and --confirm-seeds to finish it"
                )
            return max(confirmed, key=lambda c: _finite(c["score"]))["candidate"]
        if not self.trials:
            return DEFAULTS if self.defaults is not None else None
        best = max(self.trials, key=lambda t: _finite(t["score"]))
        if self.defaults is not None and float(self.defaults["score"]) > _finite(best["score"]):
            return DEFAULTS
        return int(best["number"])

    def candidates(self, top: int) -> list[int | str]:
        """A confirmation's candidates: the ``top`` trials of the best screen score (the earlier
        trial first on a tie; failed trials never), then the defaults where they were scored."""
        finite = [t for t in self.trials if math.isfinite(t["score"])]
        ranked = sorted(finite, key=lambda t: (-t["score"], t["number"]))[:top]
        names: list[int | str] = [int(t["number"]) for t in ranked]
        return names + ([DEFAULTS] if self.defaults is not None else [])

    def confirmed(self) -> list[dict[str, Any]]:
        """The confirmed entries of the current candidates (a study extended after its
        confirmation may have new ones, confirmed when it is run again)."""
        if self.confirmation is None:
            return []
        current = set(self._current_candidates())
        return [c for c in self.confirmation["candidates"] if c["candidate"] in current]

    def _current_candidates(self) -> list[int | str]:
        """The candidates of the recorded confirmation's ``top`` (none without one)."""
        return [] if self.confirmation is None else self.candidates(int(self.confirmation["top"]))

    def screen_scores(self, candidate: int | str) -> list[float]:
        """A candidate's returns in the screen (a trial's, or the scored defaults')."""
        entry = self.defaults if candidate == DEFAULTS else self.trials[int(candidate)]
        assert entry is not None
        return [float(s) for s in entry["per_seed"]]

    def start_confirmation(self, confirm: Confirmation) -> None:
        """Begin (or go on with) a confirmation with ``confirm``'s seeds; refuse a record that
        confirms with other seeds (its scores would not compare)."""
        seeds = [int(s) for s in confirm.seeds]
        if self.confirmation is None:
            self.confirmation = {"seeds": seeds, "top": confirm.top, "candidates": []}
        elif self.confirmation["seeds"] != seeds:
            raise ConfigError(
                f"the study's choice was confirmed with seeds {self.confirmation['seeds']}, not {seeds}; "
                "pass the same --confirm-seeds, or another --out for a new study"
            )
        self.confirmation["top"] = confirm.top

    def add_confirmed(self, candidate: int | str, scores: list[float]) -> float:
        """Record a candidate's confirmation runs; returns its mean over all its seeds."""
        assert self.confirmation is not None
        per_seed = [float(s) for s in scores]
        mean = float(np.mean(self.screen_scores(candidate) + per_seed))
        self.confirmation["candidates"].append({"candidate": candidate, "per_seed": per_seed, "score": mean})
        return mean

    @classmethod
    def resume(cls, path: Path, setup: TuneSetup, space: Space) -> TuningRecord:
        """The record at ``path`` to continue ``setup``'s study, verified: the same setup (but for
        its number of trials) and space, and every trial's values what its params stand for;
        a new record where there is no file."""
        record = cls(_plain(asdict(setup)), space)
        if not path.exists():
            return record
        fix = f"pass another --out, or delete {path} to start the study over"
        try:
            data = read_yaml_file(path, max_bytes=MAX_RECORD_BYTES)
        except InputFileError as exc:
            raise ConfigError(f"study record {path} {exc}; {fix}") from None
        newer = _newer_format(data)
        if newer:
            raise ConfigError(
                f"study record {path} cannot be resumed: {newer}; resume it with the mtml-rl that "
                "wrote it (or a newer one), or pass another --out"
            )
        problem = _record_problem(data, setup, space)
        if problem:
            raise ConfigError(f"study record {path} cannot be resumed: {problem}; {fix}")
        for trial in data["trials"]:
            record.add(trial["number"], trial["params"], trial["values"], trial["per_seed"])
        record.defaults = data.get("defaults")
        record.cpu_kernels = list(data.get("cpu_kernels", ["not recorded"] if data["trials"] else []))
        confirmation = data.get("confirmation")
        if confirmation is not None:  # its means recomputed from the runs' returns
            record.start_confirmation(Confirmation(tuple(confirmation["seeds"]), confirmation["top"]))
            for entry in confirmation["candidates"]:
                record.add_confirmed(entry["candidate"], entry["per_seed"])
        return record


RECORD_FIELDS = frozenset({"version", *(field_.name for field_ in fields(TuningRecord))})
"""The top-level fields of a record of :data:`RECORD_VERSION`: its version and the
:class:`TuningRecord`'s fields."""


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
    """The training config of one run: the study's fixed fields, then the drawn values (see
    :func:`as_overrides`), with no periodic evaluation and no checkpoints."""
    config_fields = {name: value for name, value in setup.fixed.items() if name != "hyperparams"}
    hyperparams: dict[str, Any] = copy.deepcopy(setup.fixed.get("hyperparams") or {})
    drawn = as_overrides(values)
    _merge(hyperparams, drawn.pop("hyperparams", {}))
    config_fields |= drawn | {
        "env": str(spec_file),
        "method": setup.method,
        "algo": setup.algo,
        "timesteps": setup.timesteps,
        "seed": seed,
        "eval_freq": 0,
        "save_freq": 0,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": hyperparams,
    }
    return TrainConfig.from_dict(config_fields, source=f"tuning run (seed {seed})")


def as_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """Searched values as :class:`TrainConfig` fields: a value goes to the field of its name,
    or else to the ``hyperparams`` entry its name (dotted: nested; ``net_arch``:
    ``policy_kwargs.net_arch``) points at. A study's chosen values in this form are what a
    benchmark grid's ``method_overrides`` entry takes."""
    overrides: dict[str, Any] = {}
    hyperparams: dict[str, Any] = {}
    for name, value in values.items():
        if name in CONFIG_FIELDS:
            overrides[name] = value
        else:
            path = HYPERPARAM_ALIASES.get(name, name).split(".")
            _set_nested(hyperparams, path, list(value) if isinstance(value, tuple | list) else value)
    if hyperparams:
        overrides["hyperparams"] = hyperparams
    return overrides


def _merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``target`` key by key, nested mappings included."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def check_fixed(setup: TuneSetup) -> None:
    """Refuse fixed fields that are not :class:`TrainConfig` fields or that a study sets per run."""
    unknown = sorted(set(setup.fixed) - CONFIG_FIELDS)
    per_run = sorted(PER_RUN_FIELDS & set(setup.fixed))
    if unknown or per_run:
        raise ConfigError(
            f"a study cannot fix {', '.join(unknown + per_run)}: "
            + (f"{', '.join(unknown)} is not a training config field; " if unknown else "")
            + "the study sets env, method, algo, timesteps and seed of its runs itself"
        )


def check_seeds(setup: TuneSetup) -> None:
    """Refuse a study without seeds or with one seed twice: a trial's score is the mean over
    its seeds, and a run of a seed trains the same bits again, so ``--seeds 0 0`` spent twice
    the budget on one seed's evidence, counted as two."""
    if not setup.seeds or len(set(setup.seeds)) != len(setup.seeds):
        raise ConfigError(
            f"a study's seeds must be given each once (got {', '.join(map(str, setup.seeds)) or 'none'}); "
            "a seed trains the same run again"
        )


def grid_protocol(config: BenchmarkConfig, env: str, method: str) -> tuple[str, int | None, dict[str, Any]]:
    """What a benchmark grid trains ``method`` on ``env`` with: its algorithm, its budget
    (``None``: the shipped default) and every other training config field, the fixed protocol
    of a study that chooses values for that grid."""
    if env_key(env) not in {env_key(e) for e in config.envs}:
        raise ConfigError(
            f"the grid does not train on {env} (its envs: {', '.join(config.envs)}); pick one of them"
        )
    if method not in config.methods:
        raise ConfigError(f"the grid does not train {method} (its methods: {', '.join(config.methods)})")
    trained = grid_trial_config(config, env, env, method, 0, Path("tuning-run")).to_dict()
    fixed = {name: value for name, value in trained.items() if name not in PER_RUN_FIELDS}
    return trained["algo"], trained["timesteps"], fixed


def _set_nested(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def score(config: TrainConfig, episodes: int) -> float:
    """Train one run and return its mean return on the train split; the run's folder is then
    deleted (a study keeps scores, not runs: one killed leaves at most the run it was training,
    not every run of the study, in its temporary folder)."""
    run = train(config, force=True, progress=False)
    try:
        records = run.evaluate(TRAIN_SPLIT, episodes=episodes, seed=TUNE_EVAL_SEED)
    finally:
        shutil.rmtree(run.path, ignore_errors=True)
    return float(np.mean([r.ret for r in records]))


def tune(
    setup: TuneSetup,
    out: Path | None = None,
    log: Callable[[str], None] = print,
    score_defaults: bool = False,
    confirm: Confirmation | None = None,
) -> TuningRecord:
    """Run the study, or the trials it still misses where ``out`` holds its record; return the
    record. With ``out``, the record is written there after every trial, holding its lock
    (one study per record). With ``score_defaults``, the method's default values are trained
    and scored too, with the same seeds and protocol (once: a resumed study keeps the score).
    With ``confirm``, the best trials and the scored defaults then train again with its seeds
    (each candidate once, written after each: a resumed confirmation goes on where it stopped)
    and the choice is the best of them over all their seeds."""
    optuna = _optuna()
    check_fixed(setup)
    check_seeds(setup)
    if confirm is not None:
        confirm.check(setup)
    spec = train_only(resolve_spec(setup.env))
    space = search_space(setup)
    with lock_folder(out) if out is not None else nullcontext():
        record = (
            TuningRecord.resume(out, setup, space)
            if out is not None
            else TuningRecord(_plain(asdict(setup)), space)
        )
        if record.trials:
            log(f"resuming: {len(record.trials)} of {setup.trials} trials done")
        kernels = describe_kernels(cpu_kernels())
        if kernels not in record.cpu_kernels:
            record.cpu_kernels.append(kernels)
        with tempfile.TemporaryDirectory(prefix="mtml-tune-") as tmp:
            spec_file = Path(tmp) / "spec.yaml"
            spec_file.write_text(dump_yaml(spec.to_dict()), encoding="utf-8")

            def score_seeds(
                values: Mapping[str, Any], name: str, seeds: tuple[int, ...] = setup.seeds
            ) -> list[float]:
                """Every seed's run with ``values`` (in folders named ``name``), scored."""
                return [
                    score(
                        trial_config(setup, spec_file, values, s, Path(tmp) / f"{name}-s{s}"), setup.episodes
                    )
                    for s in seeds
                ]

            while len(record.trials) < setup.trials:
                number = len(record.trials)
                params, values = draw(optuna, setup, space, record.trials)
                mean = record.add(number, params, values, score_seeds(values, f"t{number}"))
                if out is not None:
                    record.write(out)
                log(f"trial {number}: {mean:.2f} {values}")
            if score_defaults and record.defaults is None:
                record.defaults = _scores(score_seeds({}, "defaults"))
                if out is not None:
                    record.write(out)
                log(f"defaults: {record.defaults['score']:.2f}")
            if confirm is not None:
                record.start_confirmation(confirm)
                _confirm(
                    record, confirm, lambda values, name: score_seeds(values, name, confirm.seeds), out, log
                )
    return record


def _confirm(
    record: TuningRecord,
    confirm: Confirmation,
    score_seeds: Callable[[Mapping[str, Any], str], list[float]],
    out: Path | None,
    log: Callable[[str], None],
) -> None:
    """Train every candidate not yet confirmed with the confirmation's seeds, writing the record
    after each."""
    done = {c["candidate"] for c in record.confirmed()}
    for candidate in record.candidates(confirm.top):
        if candidate in done:
            continue
        values = {} if candidate == DEFAULTS else record.trials[int(candidate)]["values"]
        name = DEFAULTS if candidate == DEFAULTS else f"t{candidate}"
        mean = record.add_confirmed(candidate, score_seeds(values, f"{name}-confirm"))
        if out is not None:
            record.write(out)
        screen = float(np.mean(record.screen_scores(candidate)))
        label = DEFAULTS if candidate == DEFAULTS else f"trial {candidate}"
        log(f"confirmed {label}: {screen:.2f} in the screen, {mean:.2f} over all its seeds")


def draw(
    optuna: Any, setup: TuneSetup, space: Space, done: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The next trial's Optuna params and the values they stand for: a TPE sampler seeded by the
    study's seed and the trial's number, over the trials ``done`` (so the draw does not depend
    on whether the study ran in one go or was resumed)."""
    seed = int(np.random.SeedSequence([setup.sampler_seed, len(done)]).generate_state(1)[0])
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    distributions = _distributions(optuna, space)
    for trial in done:
        finite = math.isfinite(trial["score"])
        study.add_trial(
            optuna.trial.create_trial(
                params=trial["params"],
                distributions=distributions,
                value=trial["score"] if finite else None,
                state=optuna.trial.TrialState.COMPLETE if finite else optuna.trial.TrialState.FAIL,
            )
        )
    trial = study.ask()
    values = suggest(trial, space)
    return dict(trial.params), values


def values_of(params: Mapping[str, Any], space: Space) -> dict[str, Any]:
    """The values Optuna's raw ``params`` stand for (a choice is drawn as its index)."""
    values: dict[str, Any] = {}
    for name, how in space.items():
        kind, arg = next(iter(how.items()))
        values[name] = arg[params[name]] if kind == "choice" else params[name]
    return values


def _distributions(optuna: Any, space: Space) -> dict[str, Any]:
    """The Optuna distribution of every parameter, as :func:`suggest` draws it."""
    distributions: dict[str, Any] = {}
    for name, how in space.items():
        kind, arg = next(iter(how.items()))
        if kind == "choice":
            distributions[name] = optuna.distributions.CategoricalDistribution(list(range(len(arg))))
        else:
            distributions[name] = optuna.distributions.FloatDistribution(arg[0], arg[1], log=kind == "log")
    return distributions


def _newer_format(data: Any) -> str | None:
    """Why ``data`` is a record this code cannot resume without losing what it holds
    (``None``: it can): a newer version, or fields this version does not know."""
    if not isinstance(data, dict):
        return None
    version = data.get("version", 1)
    if isinstance(version, int) and version > RECORD_VERSION:
        return f"it was written in format version {version}, and this mtml-rl reads up to {RECORD_VERSION}"
    unknown = sorted(str(key) for key in data if key not in RECORD_FIELDS)
    if unknown:
        return f"it has fields this mtml-rl does not know ({', '.join(unknown)}), which resuming would drop"
    return None


def _record_problem(data: Any, setup: TuneSetup, space: Space) -> str | None:
    """Why ``data`` is not the record of ``setup``'s study (``None``: it is)."""
    if not isinstance(data, dict) or not isinstance(data.get("trials"), list):
        return "it is not a study record (no list of trials)"
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return f"its format version {version!r} is not a positive integer"
    recorded = dict(data.get("setup") or {})
    recorded.pop("trials", None)
    identity = setup.identity()
    fixed = recorded.get("fixed")
    if isinstance(fixed, dict) and isinstance(identity.get("fixed"), dict):
        recorded["fixed"] = with_fields_added_since(fixed, identity["fixed"])  # a record from before a field
    if recorded != identity:
        changed = sorted(k for k in set(recorded) | set(identity) if recorded.get(k) != identity.get(k))
        return f"it records a study of another setup (differs in {', '.join(changed)})"
    if data.get("space") != _plain(space):
        return "it records another search space"
    for index, trial in enumerate(data["trials"]):
        try:
            same = trial["number"] == index and _plain(values_of(trial["params"], space)) == trial["values"]
            scores = [float(s) for s in trial["per_seed"]]
        except (KeyError, TypeError, IndexError, ValueError):
            return f"trial {index} is incomplete or malformed"
        if not same or len(scores) != len(setup.seeds):
            return f"trial {index}'s values do not match its params or its seeds"
    defaults = data.get("defaults")
    if defaults is not None and not (
        isinstance(defaults, dict)
        and isinstance(defaults.get("score"), float)
        and isinstance(defaults.get("per_seed"), list)
        and len(defaults["per_seed"]) == len(setup.seeds)
    ):
        return "its score of the default values is malformed"
    kernels = data.get("cpu_kernels", [])
    if not isinstance(kernels, list) or not all(isinstance(k, str) for k in kernels):
        return "its cpu_kernels is not a list of descriptions"
    return _confirmation_problem(data.get("confirmation"), data, setup)


def _confirmation_problem(confirmation: Any, data: dict[str, Any], setup: TuneSetup) -> str | None:
    """Why a record's ``confirmation`` is malformed (``None``: it is not, or there is none)."""
    if confirmation is None:
        return None
    try:
        seeds = [int(s) for s in confirmation["seeds"]]
        top = confirmation["top"]
        entries = list(confirmation["candidates"])
    except (KeyError, TypeError, ValueError):
        return "its confirmation is malformed (it needs seeds, top and candidates)"
    if not isinstance(top, int) or top < 1 or not seeds or set(seeds) & set(setup.seeds):
        return "its confirmation's top or seeds are malformed"
    names: set[Any] = set()
    for entry in entries:
        candidate = entry.get("candidate") if isinstance(entry, dict) else None
        known = candidate == DEFAULTS and data.get("defaults") is not None
        known = known or (isinstance(candidate, int) and 0 <= candidate < len(data["trials"]))
        per_seed = entry.get("per_seed") if isinstance(entry, dict) else None
        if not known or candidate in names or not isinstance(per_seed, list) or len(per_seed) != len(seeds):
            return f"its confirmation of candidate {candidate!r} is malformed"
        names.add(candidate)
    return None


def _finite(value: float) -> float:
    """``value``, or minus infinity where it is not a finite number (a failed run)."""
    return float(value) if math.isfinite(value) else -math.inf


def _scores(scores: list[float]) -> dict[str, Any]:
    """``score`` (the mean over seeds) and ``per_seed``, as a record holds them."""
    per_seed = [float(s) for s in scores]
    return {"score": float(np.mean(per_seed)), "per_seed": per_seed}


def _plain(data: Any) -> Any:
    """``data`` as YAML reads it back (tuples as lists)."""
    return yaml.safe_load(yaml.safe_dump(data, sort_keys=False))


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError("tuning needs Optuna; install it with `pip install mtml-rl[tune]`") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def default_record_path(setup: TuneSetup, root: Path = Path("tuning")) -> Path:
    """``tuning/<spec name>-<method>-<algo>.yaml``."""
    return root / f"{resolve_spec(setup.env).name}-{setup.method}-{setup.algo}.yaml"
