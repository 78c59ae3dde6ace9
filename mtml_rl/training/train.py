"""``train(config) -> Run`` and ``resume(run_dir) -> Run``."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.adaptation.module import MODULE_FILE
from mtml_rl.adaptation.phase2 import Phase2Config, split_latent_error, train_adaptation
from mtml_rl.baselines.rl2 import evaluate_rl2
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.evaluation.rollout import EpisodeRecord, rollout_tasks
from mtml_rl.io import atomic_dir, atomic_write_json
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.tasks.task import Task
from mtml_rl.training import rundir
from mtml_rl.training.algorithms import method_algo
from mtml_rl.training.builders import EnvStack, build_env, build_model, resolve_algo
from mtml_rl.training.callbacks import PeriodicCallback, RichProgress, TaskReturnLogger
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.methods import method_env
from mtml_rl.training.monitor import make_logger

EVAL_SEED = 12_345
"""Reset seed of periodic evaluations (fixed, so curves of different runs compare)."""


@dataclass
class Run:
    """A trained (or training) run: its folder, config, spec, model and normalizer.

    :param path: the run directory
    :param config: the resolved training config
    :param spec: the task-distribution spec
    :param model: the SB3 model
    :param normalizer: observation normalization statistics (``None`` if unused)
    """

    path: Path
    config: TrainConfig
    spec: TaskSpec
    model: BaseAlgorithm
    normalizer: VecNormalize | None

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations (normalized as in training)."""
        if self.config.method == "rl2":
            raise ConfigError(
                "an rl2 policy is recurrent and reads the previous transition: act through "
                "mtml_rl.baselines.rl2.RL2Agent (or mtml_rl.agents.loading.load_agent)"
            )
        if self.normalizer is not None:
            obs = self.normalizer.normalize_obs(obs)
        actions, _ = self.model.predict(obs, deterministic=deterministic)
        return np.asarray(actions)

    def evaluate(
        self,
        split: str = "train",
        episodes: int = 1,
        seed: int = EVAL_SEED,
        tasks: Sequence[Task] | None = None,
        deterministic: bool = True,
    ) -> list[EpisodeRecord]:
        """Roll the policy out on a split's tasks (or given tasks), in its training layout.

        An ``rl2`` policy plays whole trials (see :func:`mtml_rl.baselines.rl2.evaluate_rl2`).
        """
        chosen = list(tasks) if tasks is not None else list(build_splits(self.spec)[split].tasks)
        if self.config.method == "rl2":
            return evaluate_rl2(self, chosen, episodes=episodes, seed=seed, deterministic=deterministic)
        layout = method_env(self.config)
        return rollout_tasks(
            lambda o: self.act(o, deterministic),
            self.spec,
            chosen,
            episodes=episodes,
            seed=seed,
            context=layout.context,
            history_len=layout.history_len,
        )

    @classmethod
    def load(cls, path: str | Path, which: str = "final") -> Run:
        """Load a run's model: ``final``, ``best`` or ``latest`` (checkpoint)."""
        path = Path(path)
        if not rundir.is_run_dir(path):
            raise CheckpointError(
                f"{path} is not a run directory (no config.yaml); pass a folder made by train"
            )
        config = TrainConfig.from_yaml(path / "config.yaml")
        spec = _checked_spec(path, config)
        folder = {"final": path / "final", "best": path / "best"}.get(which)
        if which == "latest":
            folder = rundir.latest_checkpoint(path).path
        if folder is None:
            raise ConfigError(f"which must be final, best or latest, got {which!r}")
        model, normalizer = _load_model(config, folder)
        return cls(path, config, spec, model, normalizer)


def _checked_spec(path: Path, config: TrainConfig) -> TaskSpec:
    spec = resolve_spec(config.env)
    recorded = rundir.recorded_spec_hash(path)
    if spec.content_hash() != recorded:
        raise CheckpointError(
            f"{path}: the spec {config.env} changed since this run was trained (hash {recorded} then, "
            f"{spec.content_hash()} now); restore the spec or train a new run"
        )
    return spec


def _load_model(config: TrainConfig, folder: Path) -> tuple[BaseAlgorithm, VecNormalize | None]:
    model_file = folder / rundir.MODEL_FILE
    if not model_file.is_file():
        raise CheckpointError(
            f"{folder} has no {rundir.MODEL_FILE}; the run did not save it (was it finished?)"
        )
    algo = method_algo(config.method, config.algo)
    try:
        model = algo.cls.load(model_file, device=config.device)
    except Exception as exc:  # a damaged zip raises many kinds of error
        raise CheckpointError(
            f"{model_file} is corrupt ({type(exc).__name__}: {exc}); use an older checkpoint or retrain"
        ) from None
    normalizer = None
    norm_file = folder / rundir.NORMALIZER_FILE
    if norm_file.is_file():
        try:
            with open(norm_file, "rb") as handle:
                normalizer = pickle.load(handle)
        except Exception as exc:
            raise CheckpointError(f"{norm_file} is corrupt ({exc})") from None
        normalizer.training = False
    return model, normalizer


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
def default_run_dir(config: TrainConfig, spec: TaskSpec) -> Path:
    """``runs/<env>-<method>-<algo>-s<seed>-<time>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{spec.name}-{config.method}-{config.algo}-s{config.seed}-{stamp}"


def _prepare_dir(path: Path, force: bool) -> None:
    if path.exists() and any(path.iterdir()):
        if not rundir.is_run_dir(path) and not force:
            raise ConfigError(f"output directory {path} exists and is not empty; choose another --out")
        if not force:
            raise ConfigError(
                f"{path} already holds a run; pass --resume {path} to continue it, or --force to replace it"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def _command_line() -> str:
    return " ".join(sys.argv)


def train(
    config: TrainConfig, *, force: bool = False, progress: bool | None = None, command: str | None = None
) -> Run:
    """Train ``config`` in a new run directory and return the finished :class:`Run`.

    :param config: the training config
    :param force: replace an existing run in ``config.out``
    :param progress: show a progress bar (default: when stderr is a terminal)
    :param command: the command line to record (default: ``sys.argv``)
    """
    config.validate()
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    path = Path(config.out) if config.out else default_run_dir(config, spec)
    _prepare_dir(path, force)
    config.out = str(path)
    resolved = {
        "n_envs": config.n_envs or hp.n_envs,
        "n_timesteps": config.timesteps or hp.n_timesteps,
        "normalize": hp.normalize,
        **{k: _describe(v) for k, v in hp.algo_kwargs.items()},
    }
    rundir.write_metadata(path, config, spec, resolved, command or _command_line())
    _seed_everything(config.seed, config.num_threads)
    stack = build_env(config, spec, hp, config.n_envs or hp.n_envs)
    model = build_model(config, algo, hp, stack)
    model.set_logger(make_logger(path / "logs"))
    total = config.timesteps or hp.n_timesteps
    return _learn(path, config, spec, model, stack, total, progress, reset=True)


def resume(
    path: str | Path,
    *,
    timesteps: int | None = None,
    progress: bool | None = None,
    command: str | None = None,
) -> Run:
    """Continue a run from its last checkpoint; the step counter goes on from there."""
    path = Path(path)
    if not rundir.is_run_dir(path):
        raise CheckpointError(f"{path} is not a run directory (no config.yaml); nothing to resume")
    config = TrainConfig.from_yaml(path / "config.yaml")
    spec = _checked_spec(path, config)
    checkpoint = rundir.latest_checkpoint(path)
    _algo, hp = resolve_algo(config, spec)
    if timesteps is not None:
        config.timesteps = timesteps
    total = config.timesteps or hp.n_timesteps
    if total <= checkpoint.steps:  # checked before anything in the run is touched
        raise ConfigError(f"{path} is at step {checkpoint.steps} already; pass --timesteps above it to go on")
    _seed_everything(config.seed + checkpoint.steps, config.num_threads)
    stack = build_env(config, spec, hp, config.n_envs or hp.n_envs)
    model = _restore(checkpoint.path, config, stack)
    model.set_logger(make_logger(path / "logs", keep_until_step=checkpoint.steps))
    rundir.append_command(path, command or _command_line())
    return _learn(path, config, spec, model, stack, total, progress, reset=False)


def _restore(folder: Path, config: TrainConfig, stack: EnvStack) -> BaseAlgorithm:
    algo = method_algo(config.method, config.algo)
    try:
        model = algo.cls.load(folder / rundir.MODEL_FILE, env=stack.env, device=config.device)
        with open(folder / rundir.SCHEDULER_FILE, "rb") as handle:
            stack.venv.slots.set_rng_state(pickle.load(handle))
        if stack.normalizer is not None:
            with open(folder / rundir.NORMALIZER_FILE, "rb") as handle:
                saved: VecNormalize = pickle.load(handle)
            stack.normalizer.obs_rms = saved.obs_rms
            stack.normalizer.ret_rms = saved.ret_rms
        if isinstance(model, OffPolicyAlgorithm) and (folder / rundir.REPLAY_FILE).is_file():
            model.load_replay_buffer(folder / rundir.REPLAY_FILE)
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(
            f"checkpoint {folder} is corrupt ({type(exc).__name__}: {exc}); "
            "delete it to resume from an older one"
        ) from None
    model.set_random_seed(config.seed + model.num_timesteps)
    _keep_restored_streams(stack)
    return model


def _keep_restored_streams(stack: EnvStack) -> None:
    """SB3's ``set_random_seed`` seeds the env too, and the first reset of ``learn`` would
    then reseed every slot, throwing away the task scheduler's restored streams: drop it."""
    sb3_env = stack.monitor.venv
    if not isinstance(sb3_env, SB3VecEnv):
        raise TypeError(f"the episode monitor wraps {type(sb3_env).__name__}, not SB3VecEnv")
    sb3_env.discard_pending_seeds()


def _seed_everything(seed: int, threads: int) -> None:
    th.set_num_threads(threads)
    set_random_seed(seed)


def _describe(value: Any) -> Any:
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    if isinstance(value, (int, float, str, bool, list, dict)) or value is None:
        return value
    return repr(value)


def _learn(
    path: Path,
    config: TrainConfig,
    spec: TaskSpec,
    model: BaseAlgorithm,
    stack: EnvStack,
    total: int,
    progress: bool | None,
    *,
    reset: bool,
) -> Run:
    run = Run(path, config, spec, model, stack.normalizer)
    callbacks = _callbacks(run, stack, total, progress)
    rundir.write_status(path, "running", int(model.num_timesteps))
    try:
        model.learn(
            total_timesteps=total - model.num_timesteps,
            callback=callbacks,
            reset_num_timesteps=reset,
            tb_log_name="",
            progress_bar=False,
        )
    except BaseException:
        rundir.write_status(path, "interrupted", int(model.num_timesteps))
        _close_logs(model)
        raise
    _flush_logs(model)
    _save(path / "final", run, stack)
    try:
        if config.method == "adapt":
            rundir.write_status(path, "phase2", int(model.num_timesteps))
            run_phase2(run, stack.venv.num_envs)
    finally:
        _close_logs(model)
    rundir.write_status(path, "finished", int(model.num_timesteps))
    return run


def _close_logs(model: BaseAlgorithm) -> None:
    """Close the run's log files; later calls on the model log nowhere instead."""
    model.logger.close()
    model.set_logger(Logger(folder=None, output_formats=[]))


def _flush_logs(model: BaseAlgorithm) -> None:
    """Write what the last update recorded: SB3 dumps logs before each update, so the losses
    of the final one would otherwise never reach the logs."""
    if model.logger.name_to_value:
        model.logger.record("time/total_timesteps", model.num_timesteps)
        model.logger.dump(model.num_timesteps)


def run_phase2(run: Run, n_envs: int) -> None:
    """Train and save the adaptation module of an ``adapt`` run (phase 2), logging latent errors."""
    config = run.config
    cfg = Phase2Config(
        timesteps=config.adapt_timesteps,
        n_envs=n_envs,
        iterations=config.adapt_iterations,
        epochs=config.adapt_epochs,
        arch=config.history_arch,
        history_len=config.history_len,
        trial_episodes=config.trial_episodes or 1,
        seed=config.seed,
    )
    logger = run.model.logger
    offset = int(run.model.num_timesteps)

    def log(step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            logger.record(key, value)
        logger.record("time/total_timesteps", offset + step)
        logger.dump(offset + step)

    module = train_adaptation(run.model, run.normalizer, run.spec, cfg, log)
    errors: dict[str, dict[str, float]] = {}
    limit = config.eval_tasks or None
    for name, split in build_splits(run.spec).items():
        measured = split_latent_error(
            run.model,
            run.normalizer,
            module,
            run.spec,
            list(split.tasks[:limit]),
            config.history_len,
            EVAL_SEED,
        )
        errors[name] = {"latent_error": measured.module, "mean_latent_error": measured.mean_latent}
        logger.record(f"adapt/{name}/latent_error", measured.module)
        logger.record(f"adapt/{name}/mean_latent_error", measured.mean_latent)
    logger.record("time/total_timesteps", offset + config.adapt_timesteps)
    logger.dump(offset + config.adapt_timesteps)
    module.save(run.path / "final" / MODULE_FILE)
    atomic_write_json(
        run.path / "final" / "adaptation.json", {"phase2": cfg.__dict__, "latent_errors": errors}
    )


def _save(target: Path, run: Run, stack: EnvStack, *, replay: bool = False) -> None:
    rundir.save_checkpoint(target, run.model, stack.normalizer, stack.venv.slots.rng_state(), replay=replay)


def _callbacks(run: Run, stack: EnvStack, total: int, progress: bool | None) -> list[BaseCallback]:
    config = run.config
    label = f"{run.spec.name} {config.method}/{config.algo} s{config.seed}"

    def checkpoint(steps: int) -> None:
        _save(run.path / "checkpoints" / f"step_{steps}", run, stack, replay=True)

    return [
        TaskReturnLogger(stack.monitor),
        PeriodicCallback(config.save_freq, checkpoint),
        PeriodicCallback(config.eval_freq, _evaluator(run)),
        RichProgress(total, label, enabled=progress),
    ]


def _recorded_best(path: Path) -> float:
    """The train return of the run's best model so far (a resumed run keeps it unless beaten)."""
    try:
        return float(json.loads((path / "best" / "eval.json").read_text())["train_return_mean"])
    except (OSError, ValueError, KeyError, TypeError):
        return -np.inf


def _evaluator(run: Run) -> Callable[[int], None]:
    """Evaluate on every split's first tasks; keep the best model by the train split."""
    best = {"value": _recorded_best(run.path)}
    splits = build_splits(run.spec)

    def evaluate(steps: int) -> None:
        limit = run.config.eval_tasks or None
        for name, split in splits.items():
            records = run.evaluate(tasks=split.tasks[:limit], episodes=run.config.eval_episodes)
            value = float(np.mean([r.ret for r in records]))
            run.model.logger.record(f"eval/{name}/return_mean", value)
            successes = [r.success for r in records if r.success is not None]
            if successes:
                run.model.logger.record(f"eval/{name}/success_rate", float(np.mean(successes)))
            if name == "train" and value > best["value"]:
                best["value"] = value
                with atomic_dir(run.path / "best") as tmp:
                    run.model.save(tmp / rundir.MODEL_FILE)
                    if run.normalizer is not None:
                        run.normalizer.save(str(tmp / rundir.NORMALIZER_FILE))
                    atomic_write_json(tmp / "eval.json", {"steps": steps, "train_return_mean": value})
        run.model.logger.record("time/total_timesteps", steps)
        run.model.logger.dump(steps)

    return evaluate
