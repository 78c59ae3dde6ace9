"""The training configuration: a dataclass whose field docs are also the CLI's help.

Importing this module does not import torch or Stable-Baselines3 (``mtml-rl --help`` builds
its flags from the fields); checking a config does.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtml_rl.errors import ConfigError, UnknownNameError, suggest
from mtml_rl.io import InputFileError, dump_yaml, read_yaml_file

if TYPE_CHECKING:
    from mtml_rl.training.method import Method

MAX_CONFIG_BYTES = 1_000_000
"""The largest config file read."""
MAX_SEED = 2**32 - 1
"""The largest seed: SB3 seeds NumPy's global generator, which takes ``[0, 2**32 - 1]``."""
MAX_TORCH_THREADS = 1024
"""The most torch CPU threads a run, an evaluation or a grid's trial may ask for: more than any
machine's cores, and below the counts at which OpenMP's thread pool fails (torch crashed with a
segmentation fault at ``--num-threads 100000``)."""
FIELDS_ADDED_SINCE_FIRST_RUNS: dict[str, Any] = {
    "profile": "default",
    "adapt_probe_steps": 0,
    "history_hidden": 64,
    "finetune_hyperparams": {},
}
"""Fields a run's ``config.yaml`` lacks when it was written before they existed, with the
value such a run trained with (its folder still loads, evaluates and resumes)."""


def _installed_version() -> str:
    try:
        return metadata.version("mtml-rl")
    except metadata.PackageNotFoundError:
        return "not installed"


def _written_by(run_dir: Path) -> str:
    """What to do about a run whose config has fields this version does not know, by the
    version its ``versions.json`` records."""
    try:
        recorded = json.loads((run_dir / "versions.json").read_text(encoding="utf-8")).get("mtml-rl")
    except (OSError, ValueError, AttributeError, RecursionError):
        recorded = None
    if recorded and recorded != _installed_version():
        return f"the run was made by mtml-rl {recorded}: load it with that version"
    return "a field added by hand, or by another version of mtml-rl: restore the run's config.yaml"


def with_fields_added_since(recorded: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """``recorded`` (a config, or a part of one, written by an earlier mtml-rl) with those of
    ``fields`` that it lacks and :data:`FIELDS_ADDED_SINCE_FIRST_RUNS` lists, at the value such
    a run trained with; a field it does record is left as recorded."""
    wanted = set(fields)
    added = {k: v for k, v in FIELDS_ADDED_SINCE_FIRST_RUNS.items() if k in wanted and k not in recorded}
    return {**recorded, **added}


def check_device(device: str) -> None:
    """Refuse a torch device this machine does not have (SB3 would fall back to the CPU
    silently and the run would record the device it did not use)."""
    import torch as th

    kind = th.device(device).type
    if kind == "cuda" and not th.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but CUDA is not available here; use --device cpu")
    if kind == "cuda" and th.device(device).index is not None:
        index = th.device(device).index
        if index >= th.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has {th.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not th.backends.mps.is_available():
        raise ConfigError(f"device {device!r} asked for, but MPS is not available here; use --device cpu")
    if kind not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device {device!r} is not supported for training; use cpu, cuda or mps")


def _help(text: str, per_method: bool = False, **kwargs: Any) -> Any:
    """A config field documented by ``text`` (the CLI's help); ``per_method``: only the methods
    that say so read it (:data:`PER_METHOD_FIELDS`)."""
    return field(metadata={"help": text, "per_method": per_method}, **kwargs)


def is_whole_number_type(hint: Any) -> bool:
    """Whether a field annotated ``hint`` holds a whole number (``int`` or ``int | None``)."""
    return hint is int or set(typing.get_args(hint)) == {int, type(None)}


def with_whole_numbers(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (fields of the dataclass ``cls``) with a whole float in a whole-number field
    made an int: YAML reads ``timesteps: 1e6`` as the float 1000000.0."""
    hints = typing.get_type_hints(cls)
    return {
        key: int(value)
        if is_whole_number_type(hints.get(key)) and isinstance(value, float) and value.is_integer()
        else value
        for key, value in data.items()
    }


def check_seed(name: str, seed: int) -> None:
    """A :class:`ConfigError` if ``seed`` (an integer) is above :data:`MAX_SEED`."""
    if seed > MAX_SEED:
        raise ConfigError(f"{name} must be at most {MAX_SEED:,} (2**32 - 1), got {seed:,}")


def check_thread_count(name: str, threads: int) -> None:
    """A :class:`ConfigError` if ``threads`` (a positive integer) is above :data:`MAX_TORCH_THREADS`."""
    if threads > MAX_TORCH_THREADS:
        raise ConfigError(
            f"{name} must be at most {MAX_TORCH_THREADS:,} torch threads, got {threads:,}; ask for about "
            "as many as the machine has cores, or 1 for reproducible runs"
        )


@dataclass
class TrainConfig:
    """Everything one training run is built from (serialized as ``config.yaml``)."""

    env: str = _help("registered id (mtml/CartPole-v0) or path to a spec .yaml", default="mtml/CartPole-v0")
    method: str = _help(
        "a registered method: dr, oracle, history or adapt (what feeds the task latent z), "
        "rl2 (recurrent PPO over trials), finetune (dr fine-tuned on each test task), pearl (SAC "
        "with a posterior over transitions), onehot or multihead (multi-task, given the task id), "
        "one registered by a package, or 'pkg.module:object'",
        default="oracle",
    )
    algo: str = _help(
        "SB3 algorithm: ppo, a2c (any action space), sac, td3 (continuous); rl2 needs ppo, pearl sac",
        default="ppo",
    )
    timesteps: int | None = _help(
        "environment steps to train (default: the shipped hyperparameters')", default=None
    )
    n_envs: int | None = _help(
        "parallel environment slots (default: the shipped hyperparameters')", default=None
    )
    seed: int = _help("seed of the algorithm, the env slots and the task scheduler", default=0)
    hyperparams: dict[str, Any] = _help(  # noqa: RUF009
        "algorithm keyword overrides, e.g. {learning_rate: 0.001}", default_factory=dict
    )
    profile: str = _help(
        "hyperparameter profile under the overrides: default (the shipped per-family settings) "
        "or fast (many slots, large minibatches, less CPU time per step where the family has "
        "fast settings; docs/training.md)",
        default="default",
    )
    latent_dim: int = _help("size of the task latent z", per_method=True, default=8)
    history_len: int = _help(
        "transitions in the history window (history, adapt and pearl)", per_method=True, default=16
    )
    history_arch: str = _help(
        "history encoder: conv (1-D temporal convolution, as in RMA), mlp or gru",
        per_method=True,
        default="conv",
    )
    history_hidden: int = _help(
        "hidden width of the history encoder (the convolution's channels; the MLP's and GRU's units)",
        per_method=True,
        default=64,
    )
    adapt_timesteps: int = _help(
        "adapt phase 2: environment steps of DAgger rollouts", per_method=True, default=30_000
    )
    adapt_iterations: int = _help("adapt phase 2: rollout/regression rounds", per_method=True, default=10)
    adapt_epochs: int = _help(
        "adapt phase 2: regression effort per round (it regresses on 2 x this many samples per "
        "sample it collected)",
        per_method=True,
        default=32,
    )
    adapt_probe_steps: int = _help(
        "adapt deployment: the first this many steps of each trial act with sampled actions, "
        "then the latent is fixed at the mean of the last estimates (0: the mean action and the "
        "window's estimate throughout)",
        per_method=True,
        default=0,
    )
    trial_episodes: int | None = _help(
        "episodes per trial: the task and history (rl2: its memory) carry over this many episodes "
        "(unset: the method's default, 2 for rl2, 1 for the others)",
        default=None,
    )
    finetune_timesteps: int = _help(
        "finetune: environment steps of training on each test task before acting on it",
        per_method=True,
        default=5_000,
    )
    finetune_hyperparams: dict[str, Any] = _help(  # noqa: RUF009
        "finetune: the algorithm's hyperparameters of the clone trained on each test task, over the "
        "run's (e.g. n_steps: 32 for shorter rollouts, more updates in its budget; empty: the run's)",
        per_method=True,
        default_factory=dict,
    )
    eval_freq: int = _help(
        "evaluate on the training tasks every this many env steps (0: never)", default=10_000
    )
    eval_episodes: int = _help("episodes per task in each periodic evaluation", default=1)
    eval_tasks: int = _help("tasks of each split in each periodic evaluation (0: all)", default=16)
    save_freq: int = _help(
        "write a checkpoint every this many env steps (0: only the final model)", default=25_000
    )
    out: str | None = _help(
        "run directory (default: runs/<env>-<method>-<algo>-s<seed>-<time>)", default=None
    )
    num_threads: int = _help("torch CPU threads (1 makes runs reproducible)", default=1)
    device: str = _help("torch device", default="cpu")

    def __post_init__(self) -> None:
        method = self.resolved_method()
        if self.trial_episodes is None:
            self.trial_episodes = method.default_trial_episodes
        self.validate()

    def resolved_method(self) -> Method:
        """The :class:`Method` object ``method`` names (a :class:`ConfigError` if none)."""
        if not isinstance(self.method, str):
            raise ConfigError(f"method must be a name, got {type(self.method).__name__} {self.method!r}")
        from mtml_rl.training import registry

        try:
            return registry.get_method(self.method)
        except UnknownNameError as exc:
            known = exc.known
            raise ConfigError(
                f"unknown method {self.method!r}{suggest(self.method, known)}; choose one of "
                f"{', '.join(known)}, or register yours (docs/methods.md)"
            ) from None

    def validate(self) -> None:
        """Check every field; raises :class:`ConfigError` naming the field and the fix."""
        from mtml_rl.policies.history import HISTORY_ARCHS
        from mtml_rl.training.hyperparams import check_profile

        self.resolved_method()
        positive = {
            "latent_dim": self.latent_dim,
            "history_len": self.history_len,
            "history_hidden": self.history_hidden,
            "num_threads": self.num_threads,
            "adapt_timesteps": self.adapt_timesteps,
            "adapt_iterations": self.adapt_iterations,
            "adapt_epochs": self.adapt_epochs,
            "trial_episodes": self.trial_episodes,
            "finetune_timesteps": self.finetune_timesteps,
        }
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        check_thread_count("num_threads", self.num_threads)
        for name in ("timesteps", "n_envs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("eval_freq", "save_freq", "eval_tasks", "seed", "adapt_probe_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        check_seed("seed", self.seed)
        if self.history_arch not in HISTORY_ARCHS:
            raise ConfigError(
                f"unknown history_arch {self.history_arch!r}{suggest(self.history_arch, HISTORY_ARCHS)}; "
                f"choose one of {', '.join(HISTORY_ARCHS)}"
            )
        if isinstance(self.eval_episodes, int) and self.eval_episodes < 1:
            raise ConfigError(f"eval_episodes must be at least 1, got {self.eval_episodes}")
        for name in ("hyperparams", "finetune_hyperparams"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ConfigError(f"{name} must be a mapping of names to values, got {value!r}")
        check_profile(self.profile)
        self._check_types()

    def _check_types(self) -> None:
        """The fields validate() has not checked yet: strings, and ``out`` (a string or unset)."""
        for name in ("env", "algo", "device"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
        if self.out is not None and not isinstance(self.out, str):
            raise ConfigError(f"out must be a folder name, got {self.out!r}")
        if isinstance(self.eval_episodes, bool) or not isinstance(self.eval_episodes, int):
            raise ConfigError(f"eval_episodes must be an integer, got {self.eval_episodes!r}")
        import torch as th

        try:
            th.device(self.device)
        except (RuntimeError, ValueError):
            raise ConfigError(
                f"device {self.device!r} is not a torch device; use cpu, cuda, cuda:N or mps"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from plain data; unknown keys are an error with a suggestion."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping of config fields, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                raise ConfigError(
                    f"{source}: unknown config field {key!r}{suggest(str(key), names)}; "
                    f"fields: {', '.join(names)}"
                )
        try:
            return cls(**with_whole_numbers(cls, data))
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Load a config file (fields it leaves out take their defaults)."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            data = read_yaml_file(path, max_bytes=MAX_CONFIG_BYTES) or {}
        except InputFileError as exc:
            raise ConfigError(f"{path} {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_run(cls, path: str | Path) -> TrainConfig:
        """Load a run's ``config.yaml`` strictly: it was written whole, so a missing field (a
        truncated file) is an error, never a default, except a field that runs written before
        it existed lack (:data:`FIELDS_ADDED_SINCE_FIRST_RUNS`: the value they trained with)."""
        path = Path(path)
        try:
            data = read_yaml_file(path, max_bytes=MAX_CONFIG_BYTES)
        except InputFileError as exc:
            raise ConfigError(f"{path} {exc}; restore the run's config.yaml") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of config fields, got {type(data).__name__}")
        data = with_fields_added_since(data, [f.name for f in dataclasses.fields(cls)])
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(map(str, set(data) - set(names)))
        if unknown:
            close = suggest(unknown[0], names) if len(unknown) == 1 else ""
            raise ConfigError(
                f"{path} has fields this mtml-rl ({_installed_version()}) does not know: "
                f"{', '.join(unknown)}{close}; {_written_by(path.parent)}"
            )
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data]
        if missing:
            raise ConfigError(
                f"{path} lacks the fields {', '.join(missing)} (damaged or truncated?); restore the "
                "run's config.yaml"
            )
        return cls.from_dict(data, source=str(path))

    def to_yaml(self) -> str:
        """Serialize to YAML."""
        return dump_yaml(self.to_dict())


PER_METHOD_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.metadata["per_method"])
"""The config fields only some methods read: the task latent's size, the history window and
encoder, ``adapt``'s phase 2 and probe, ``finetune``'s clone. Each method says which of them it
reads (:meth:`~mtml_rl.training.method.Method.fields_read`): ``mtml-rl train`` refuses a flag of
one that its method does not read, and a benchmark grid does not take a change of one for a
change of the trials whose methods do not read it."""
