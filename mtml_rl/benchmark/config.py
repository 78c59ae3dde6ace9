"""The benchmark grid's configuration: a dataclass, strictly loaded from YAML or flags.

A grid file names the specs, methods and seeds to cross, the budget, the TrainConfig
fields every trial shares, per-env, per-method and per-cell overrides, the backend and
the evaluation. Unknown keys anywhere are an error that suggests the closest known one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtml_rl.envs.sim_threads import usable_cpus
from mtml_rl.errors import ConfigError, MtmlError, suggest
from mtml_rl.io import InputFileError, read_yaml_file
from mtml_rl.specs.spec import is_file, resolve_spec
from mtml_rl.specs.splits import SPLIT_NAMES_AND_UNION
from mtml_rl.training.config import TrainConfig, check_thread_count, with_whole_numbers
from mtml_rl.training.registry import get_method, is_reference, method_names

BACKENDS = ("local", "ray")
"""Where trials run: a local process pool, or tasks on a Ray cluster."""
GRID_FIELDS = ("env", "method", "seed", "out", "num_threads")
"""TrainConfig fields that the grid sets itself (not allowed in ``train`` or the overrides)."""
DEFAULT_EVAL_SPLITS = ("train", "test-interpolation", "test-extrapolation")
MAX_GRID_BYTES = 1_000_000
"""The largest grid file read."""


def _help(text: str, **kwargs: Any) -> Any:
    return field(metadata={"help": text}, **kwargs)


@dataclass
class EvalSettings:
    """How each trained trial is evaluated."""

    enabled: bool = _help("evaluate the trials and write the compare report", default=True)
    splits: list[str] = _help(  # noqa: RUF009
        "splits to evaluate on (missing ones in a spec are skipped)",
        default_factory=lambda: list(DEFAULT_EVAL_SPLITS),
    )
    episodes: int = _help("episodes per task (a multiple of every method's trial length)", default=10)
    seed: int = _help("reset seed of the first task's episodes (task i uses seed + i)", default=100)
    deterministic: bool = _help("deterministic actions", default=True)
    bootstrap_reps: int = _help("bootstrap replications of the compare report's intervals", default=2000)
    figures: bool = _help("draw the compare report's pictures (false: report.md without them)", default=True)

    def validate(self) -> None:
        """Check the fields; raises :class:`ConfigError` naming the fix."""
        if not isinstance(self.splits, list) or not self.splits:
            raise ConfigError(
                f"evaluation.splits must be a non-empty list of split names, got {self.splits!r}"
            )
        for name in self.splits:
            if name not in SPLIT_NAMES_AND_UNION:
                raise ConfigError(
                    f"evaluation.splits: unknown split {name!r}{suggest(str(name), SPLIT_NAMES_AND_UNION)}; "
                    f"the splits are {', '.join(SPLIT_NAMES_AND_UNION)} (a spec without one skips it)"
                )
        checks = (
            ("episodes", self.episodes, 1),
            ("seed", self.seed, 0),
            ("bootstrap_reps", self.bootstrap_reps, 1),
        )
        for name, value, low in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"evaluation.{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.figures, bool):
            raise ConfigError(f"evaluation.figures must be true or false, got {self.figures!r}")


@dataclass
class BenchmarkConfig:
    """A grid of (spec, method, seed) trials, how to run them and how to evaluate them."""

    envs: list[str] = _help("spec ids (mtml/CartPole-v0) or paths to spec files")  # noqa: RUF009
    methods: list[str] = _help(  # noqa: RUF009
        "methods to train", default_factory=lambda: ["dr", "oracle", "adapt"]
    )
    seeds: list[int] = _help("training seeds (a number n in YAML means 0..n-1)", default_factory=lambda: [0])  # noqa: RUF009
    timesteps: int | None = _help("environment steps per trial (unset: the shipped defaults)", default=None)
    out: str = _help("benchmark folder (runs/, eval/, report/, trials.json)", default="benchmark")
    name: str = _help("a label for the report", default="benchmark")
    train: dict[str, Any] = _help(  # noqa: RUF009
        "TrainConfig fields shared by every trial", default_factory=dict
    )
    env_overrides: dict[str, dict[str, Any]] = _help(  # noqa: RUF009
        "TrainConfig fields per env (e.g. its budget or algorithm; envs not in the grid are ignored)",
        default_factory=dict,
    )
    method_overrides: dict[str, dict[str, Any]] = _help(  # noqa: RUF009
        "TrainConfig fields per method (applied after env_overrides)", default_factory=dict
    )
    cell_overrides: dict[str, dict[str, dict[str, Any]]] = _help(  # noqa: RUF009
        "TrainConfig fields of one method on one env (env, then method; applied last)",
        default_factory=dict,
    )
    backend: str = _help("local (process pool) or ray", default="local")
    workers: int | None = _help("local: parallel trials (default: cores / threads_per_worker)", default=None)
    threads_per_worker: int = _help("torch threads (and CPUs declared to Ray) per trial", default=1)
    address: str | None = _help(
        "ray: cluster address (host:port, auto, ray://...; unset: start one)", default=None
    )
    evaluation: EvalSettings = _help("how trials are evaluated", default_factory=EvalSettings)  # noqa: RUF009

    def __post_init__(self) -> None:
        if isinstance(self.evaluation, dict):
            self.evaluation = _build(EvalSettings, self.evaluation, "evaluation")
        if isinstance(self.seeds, int) and not isinstance(self.seeds, bool):
            self.seeds = list(range(self.seeds))
        self.validate()

    def validate(self) -> None:
        """Check every field (names, types, known methods and backends); raises :class:`ConfigError`."""
        _check_names("envs", self.envs)
        _check_names("methods", self.methods)
        for method in self.methods:
            check_method("", method)
        if not isinstance(self.seeds, list) or not self.seeds or not all(_is_int(s, 0) for s in self.seeds):
            raise ConfigError(
                f"seeds must be a non-empty list of integers >= 0 (or a count), got {self.seeds!r}"
            )
        for name in ("envs", "methods", "seeds"):
            values = getattr(self, name)
            if len(set(map(str, values))) != len(values):
                raise ConfigError(f"{name} lists a value twice: {values!r}")
        self._check_scalars()
        _check_train_fields("train", self.train)
        for env, fields in self.env_overrides.items():
            _check_env("env_overrides", env)
            _check_train_fields(f"env_overrides.{env}", fields)
        for method, fields in self.method_overrides.items():
            check_method("method_overrides: ", str(method))
            _check_train_fields(f"method_overrides.{method}", fields)
            _check_read_by(f"method_overrides.{method}", str(method), fields)
        self._check_cell_overrides()
        self.evaluation.validate()

    def _check_cell_overrides(self) -> None:
        if not isinstance(self.cell_overrides, dict):
            raise ConfigError(
                "cell_overrides must map an env to a mapping of methods to TrainConfig fields, "
                f"got {type(self.cell_overrides).__name__}"
            )
        for env, methods in self.cell_overrides.items():
            _check_env("cell_overrides", env)
            if not isinstance(methods, dict):
                raise ConfigError(
                    f"cell_overrides.{env} must map methods to TrainConfig fields "
                    f"({{rl2: {{timesteps: 30000}}}}), got {type(methods).__name__}"
                )
            for method, fields in methods.items():
                check_method(f"cell_overrides.{env}: ", str(method))
                _check_train_fields(f"cell_overrides.{env}.{method}", fields)
                _check_read_by(f"cell_overrides.{env}.{method}", str(method), fields)

    def _check_scalars(self) -> None:
        if self.timesteps is not None and not _is_int(self.timesteps, 1):
            raise ConfigError(f"timesteps must be a positive integer, got {self.timesteps!r}")
        if "timesteps" in self.train and self.timesteps is not None:
            raise ConfigError("timesteps is set twice (top level and train.timesteps); keep one")
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"unknown backend {self.backend!r}{suggest(str(self.backend), BACKENDS)}; "
                f"choose {' or '.join(BACKENDS)}"
            )
        if self.workers is not None and not _is_int(self.workers, 1):
            raise ConfigError(f"workers must be a positive integer, got {self.workers!r}")
        if not _is_int(self.threads_per_worker, 1):
            raise ConfigError(
                f"threads_per_worker must be a positive integer, got {self.threads_per_worker!r}"
            )
        check_thread_count("threads_per_worker", self.threads_per_worker)
        if self.address is not None and self.backend != "ray":
            raise ConfigError("address is for the ray backend; add --backend ray (or backend: ray)")
        if not isinstance(self.out, str) or not self.out:
            raise ConfigError(f"out must be a folder path, got {self.out!r}")

    @property
    def out_dir(self) -> Path:
        """The benchmark folder as an absolute path."""
        return Path(self.out).expanduser().resolve()

    def resolved_workers(self) -> int:
        """Parallel trials of the local backend (``workers``, else cores / threads per worker)."""
        if self.workers is not None:
            return self.workers
        return max(1, usable_cpus() // self.threads_per_worker)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML and the manifest)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "benchmark config") -> BenchmarkConfig:
        """Build from plain data; unknown keys are an error with a suggestion."""
        return _build(cls, data, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> BenchmarkConfig:
        """Load a grid file; spec paths in it are relative to the file (``out``: to the working directory)."""
        path = Path(path)
        if not is_file(path):
            raise ConfigError(f"benchmark file {path} does not exist")
        try:
            data = read_yaml_file(path, max_bytes=MAX_GRID_BYTES) or {}
        except InputFileError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if isinstance(data, dict):
            data = _relative_to(data, path.resolve().parent)
        return cls.from_dict(data, source=str(path))


def _relative_to(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Spec paths (``*.yaml`` files next to the grid file) made absolute, in ``envs`` and
    as keys of ``env_overrides`` and ``cell_overrides``."""

    def absolute(env: Any) -> Any:
        if isinstance(env, str) and env.endswith((".yaml", ".yml")) and is_file(base / env):
            return str(base / env)
        return env

    if isinstance(data.get("envs"), list):
        data["envs"] = [absolute(e) for e in data["envs"]]
    for key in ("env_overrides", "cell_overrides"):
        if isinstance(data.get(key), dict):
            data[key] = {absolute(k): v for k, v in data[key].items()}
    return data


def _build(cls: Any, data: Any, source: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise ConfigError(
                f"{source}: unknown key {key!r}{suggest(str(key), names)}; known keys: {', '.join(names)}"
            )
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in data
    ]
    if missing:
        raise ConfigError(f"{source}: missing required key(s) {', '.join(missing)}")
    try:
        return cls(**with_whole_numbers(cls, data))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def env_key(env: str) -> str:
    """What identifies an env across spellings: the absolute path of a spec file, else the
    registered id (``CartPole`` and ``mtml/CartPole-v0`` are one env)."""
    if is_file(env):
        return str(Path(env).resolve())
    return resolve_spec(env).id


def _check_env(where: str, env: str) -> None:
    """Refuse an override's env that is neither a spec file nor a registered id."""
    try:
        env_key(env)
    except MtmlError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check_method(where: str, method: str) -> None:
    """Refuse a method the registry does not know (naming the closest known one)."""
    if is_reference(method):
        get_method(method)  # imports it: a clear ConfigError if that fails
        return
    known = method_names()
    if method not in known:
        raise ConfigError(
            f"{where}unknown method {method!r}{suggest(method, known)}; choose from {', '.join(known)}, "
            "or register yours (docs/methods.md)"
        )


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_names(name: str, values: Any) -> None:
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{name} must be a non-empty list of names, got {values!r}")


def _check_read_by(where: str, method: str, fields: dict[str, Any]) -> None:
    """Refuse a field only some methods read
    (:data:`~mtml_rl.training.config.PER_METHOD_FIELDS`) set for ``method`` alone when it does
    not read it (:meth:`~mtml_rl.training.method.Method.fields_read`): it would change nothing
    in its trials. ``train`` and ``env_overrides`` give fields to every method, and may hold
    them."""
    unread = get_method(method).fields_not_read(TrainConfig(method=method), fields)
    if unread:
        they, them = ("it", "it") if len(unread) == 1 else ("they", "them")
        raise ConfigError(
            f"{where}: method {method} does not read {', '.join(unread)}, so {they} would change nothing "
            f"in its trials; remove {them} (or set {them} for a method that reads {them})"
        )


def _check_train_fields(where: str, fields: Any) -> None:
    """``fields`` must be TrainConfig fields, none of those the grid sets itself."""
    if not isinstance(fields, dict):
        raise ConfigError(f"{where} must be a mapping of TrainConfig fields, got {type(fields).__name__}")
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in fields:
        if key in GRID_FIELDS:
            raise ConfigError(
                f"{where}: {key!r} is set by the grid (envs, methods, seeds, out, threads_per_worker); "
                "remove it here"
            )
        if key not in names:
            raise ConfigError(f"{where}: unknown TrainConfig field {key!r}{suggest(str(key), names)}")
