"""The training loop: ``train(config) -> Run`` and ``resume(run_dir) -> Run``, with checkpoints,
periodic evaluation and the best model; the run's method says what differs (see
:mod:`mtml_rl.training.method`)."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import time
from collections.abc import Callable
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

from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.faults import fault_point
from mtml_rl.io import atomic_dir, atomic_write_json
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import rundir
from mtml_rl.training.algorithms import AlgoInfo
from mtml_rl.training.builders import EnvStack, build_env, build_model, resolve_algo
from mtml_rl.training.callbacks import PeriodicCallback, RichProgress, TaskReturnLogger
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.hyperparams import Hyperparams
from mtml_rl.training.monitor import make_logger
from mtml_rl.training.run import Run, checked_spec


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
def default_run_dir(config: TrainConfig, spec: TaskSpec) -> Path:
    """``runs/<env>-<method>-<algo>-s<seed>-<time>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    method = config.resolved_method().name
    return Path("runs") / f"{spec.name}-{method}-{config.algo}-s{config.seed}-{stamp}"


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
    if Path(config.env).is_file():  # the run records where its spec came from, from anywhere
        config.env = str(Path(config.env).resolve())
    algo, hp = resolve_algo(config, spec)
    path = Path(config.out) if config.out else default_run_dir(config, spec)
    with lock_folder(path):  # one writer per run folder: --force never replaces a live run
        return _train_new(path, config, spec, algo, hp, force, progress, command)


def _train_new(
    path: Path,
    config: TrainConfig,
    spec: TaskSpec,
    algo: AlgoInfo,
    hp: Hyperparams,
    force: bool,
    progress: bool | None,
    command: str | None,
) -> Run:
    """What :func:`train` does while it holds the run folder's lock."""
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
    with lock_folder(path):  # one writer per run folder: never resume a live run
        return _resume_locked(path, timesteps, progress, command)


def _resume_locked(path: Path, timesteps: int | None, progress: bool | None, command: str | None) -> Run:
    """What :func:`resume` does while it holds the run folder's lock."""
    config = TrainConfig.from_yaml(path / "config.yaml")
    spec = checked_spec(path, config)
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
    algo = config.resolved_method().algorithm(config)
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
    _save(path / "final", run, stack, point="final")
    try:
        if run.method.post_training:
            rundir.write_status(path, run.method.post_training, int(model.num_timesteps))
            run.method.post_train(run, stack.venv.num_envs)
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


def _save(
    target: Path, run: Run, stack: EnvStack, *, replay: bool = False, point: str = "checkpoint"
) -> None:
    rundir.save_checkpoint(
        target, run.model, stack.normalizer, stack.venv.slots.rng_state(), replay=replay, point=point
    )


def _callbacks(run: Run, stack: EnvStack, total: int, progress: bool | None) -> list[BaseCallback]:
    config = run.config
    label = f"{run.spec.name} {run.method.name}/{config.algo} s{config.seed}"

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
    """Evaluate on the first tasks of every split the method can play; keep the best model by
    the train split."""
    best = {"value": _recorded_best(run.path)}
    playable = run.method.cannot_play
    splits = {n: s for n, s in build_splits(run.spec).items() if not playable(run.spec, s.tasks)}

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
                    fault_point("best")
                    if run.normalizer is not None:
                        run.normalizer.save(str(tmp / rundir.NORMALIZER_FILE))
                    atomic_write_json(tmp / "eval.json", {"steps": steps, "train_return_mean": value})
        run.model.logger.record("time/total_timesteps", steps)
        run.model.logger.dump(steps)

    return evaluate
