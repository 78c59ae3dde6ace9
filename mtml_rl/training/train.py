"""The training loop: ``train(config) -> Run`` and ``resume(run_dir) -> Run``, with checkpoints,
periodic evaluation and the best model; the run's method says what differs (see
:mod:`mtml_rl.training.method`).

Both hold the run folder's lock while they write it (one writer per run), and a resume
goes on from any crash: leftover temporary folders are removed, the newest saved model that
verifies is loaded, and what is left (training, the final model, the method's post-training
step) is done; a finished run is left as it is unless more steps are asked for.
"""

from __future__ import annotations

import pickle
import shlex
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
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.envs.parameter_effects import warn_inert_parameters
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.faults import fault_point
from mtml_rl.io import atomic_write_yaml, write_manifest
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import recovery, rundir
from mtml_rl.training.builders import (
    EnvStack,
    build_env,
    build_model,
    resolve_algo,
    warn_if_the_budget_misfits,
)
from mtml_rl.training.callbacks import PeriodicCallback, RichProgress, TaskReturnLogger
from mtml_rl.training.config import TrainConfig, check_device
from mtml_rl.training.hyperparams import Hyperparams, LinearSchedule
from mtml_rl.training.monitor import make_logger, set_aside_damaged_log, silence_logger
from mtml_rl.training.optim import use_foreach_updates
from mtml_rl.training.run import Run, checked_spec
from mtml_rl.training.spaces import check_model_spaces, expected_spaces

Note = Callable[[str], None]
"""Receives what a resume has to say (a finished run left as it is, damaged folders skipped)."""


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
def default_run_dir(config: TrainConfig, spec: TaskSpec) -> Path:
    """``runs/<env>-<method>-<algo>-s<seed>-<time>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    method = config.resolved_method().name
    return Path("runs") / f"{spec.name}-{method}-{config.algo}-s{config.seed}-{stamp}"


def _check_dir(path: Path, force: bool) -> None:
    """Refuse an output folder that holds something, unless it holds a run and nothing else
    and ``force`` replaces it, or that lies inside another run (nothing is touched)."""
    rundir.refuse_inside_a_run(path, "a run", "--out")
    if not path.exists() or not any(path.iterdir()):
        return
    if not rundir.is_run_dir(path):
        only = ", and --force replaces only a run" if force else ""
        raise ConfigError(f"output directory {path} exists and is not empty{only}; choose another --out")
    if not force:
        raise ConfigError(
            f"{path} already holds a run; pass --resume {path} to continue it, or --force to replace it"
        )
    foreign = rundir.foreign_entries(path)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{path} holds a run and files it did not write ({shown}), which --force would delete with "
            "it; move them out of it, or choose another --out"
        )


def _command_line() -> str:
    return shlex.join(sys.argv)


def train(
    config: TrainConfig, *, force: bool = False, progress: bool | None = None, command: str | None = None
) -> Run:
    """Train ``config`` in a new run directory and return the finished :class:`Run`.

    Everything is checked before the run folder is made: the config, the spec, the device,
    and the hyperparameters by building the model.

    :param config: the training config
    :param force: replace an existing run in ``config.out``
    :param progress: show a progress bar (default: when stderr is a terminal)
    :param command: the command line to record (default: ``sys.argv``)
    """
    if not isinstance(config, TrainConfig):
        raise ConfigError(
            f"train takes a TrainConfig, got {type(config).__name__}; build one with TrainConfig(...) "
            "or TrainConfig.from_dict(...)"
        )
    config.validate()
    check_device(config.device)
    spec = resolve_spec(config.env)
    warn_inert_parameters(spec)
    if Path(config.env).is_file():  # the run records where its spec came from, from anywhere
        config.env = str(Path(config.env).resolve())
    algo, hp = resolve_algo(config, spec)
    path = Path(config.out) if config.out else default_run_dir(config, spec)
    with lock_folder(path):  # one writer per run folder: --force never replaces a live run
        _check_dir(path, force)
        _seed_everything(config.seed, config.num_threads)
        stack = build_env(config, spec, hp, config.n_envs or hp.n_envs)
        model = build_model(config, algo, hp, stack)  # refuses bad hyperparameters
        warn_if_the_budget_misfits(model, config.timesteps or hp.n_timesteps)
        if path.exists():
            shutil.rmtree(path.resolve())  # through a link to a run: the run it names is replaced
        path.resolve().mkdir(parents=True)
        config.out = str(path)
        resolved = hyperparams_record(config, hp)
        rundir.write_metadata(path, config, spec, resolved, command or _command_line())
        model.set_logger(make_logger(path / "logs"))
        total = config.timesteps or hp.n_timesteps
        return _learn(path, config, spec, model, stack, total, progress, reset=True)


def resume(
    path: str | Path,
    *,
    timesteps: int | None = None,
    progress: bool | None = None,
    command: str | None = None,
    note: Note | None = None,
) -> Run:
    """Continue a run from where it stopped, however it stopped; the step counter goes on.

    The newest saved model that verifies (a periodic checkpoint, or ``final/``) is loaded;
    training goes on to the run's budget (or ``timesteps``, which is recorded), then the
    final model and the method's post-training step (``adapt``: phase 2, from its own
    checkpoint) are done. A finished run is returned as it is unless ``timesteps`` asks for
    more steps.

    :param path: the run directory
    :param timesteps: the new total budget (default: the run's)
    :param progress: show a progress bar (default: when stderr is a terminal)
    :param command: the command line to record (default: ``sys.argv``)
    :param note: receives one line per thing worth saying (default: stderr)
    """
    path = Path(path)
    if not rundir.is_run_dir(path):
        raise CheckpointError(f"{path} is not a run directory (no config.yaml); nothing to resume")
    say = note or (lambda line: print(line, file=sys.stderr))
    with lock_folder(path):  # one writer per run folder: never resume a live run
        return _resume_locked(path, timesteps, progress, command, say)


def _resume_locked(
    path: Path, timesteps: int | None, progress: bool | None, command: str | None, say: Note
) -> Run:
    """What :func:`resume` does while it holds the run folder's lock."""
    config = TrainConfig.from_run(path / "config.yaml")
    spec = checked_spec(path, config)
    for restored in rundir.restore_replaced_folders(path):
        say(f"put back {restored}, moved aside by a process that was stopped while replacing it")
    for leftover in rundir.remove_leftovers(path):
        say(f"removed {leftover}, left by a process that was stopped while writing it")
    fault_point("resume")
    plan = recovery.plan_resume(path)
    _algo, hp = resolve_algo(config, spec)
    _refuse_changed_hyperparams(path, config, hp, say, budget_given=timesteps is not None)
    total = timesteps or config.timesteps or hp.n_timesteps
    if plan.finished and plan.final_steps is not None and total <= plan.final_steps:
        say(f"{path} finished at step {plan.final_steps}; nothing to do (pass --timesteps above it to go on)")
        return Run.load(path)
    # Only a budget asked for can be too small: the run's own is overshot by its last rollout
    # when it is not a multiple of a rollout's steps, and a model saved past it is done training.
    if timesteps is not None and timesteps < plan.source.steps:
        raise ConfigError(
            f"{path} is at step {plan.source.steps} already; pass --timesteps of at least that to go on"
        )
    recovery.recorded_best(path)  # a damaged best model stops the resume before anything changes
    rundir.check_model_config(plan.source.path, path, config)
    check_model_spaces(path, spec, rundir.saved_model_spaces(plan.source.path), expected_spaces(config, spec))
    for folder, problem in plan.skipped.items():
        say(f"skipped {folder}: {problem}")
    if timesteps is not None and timesteps != config.timesteps:
        config.timesteps = timesteps  # recorded, so that a later resume goes on to it
        atomic_write_yaml(path / "config.yaml", config.to_dict())
    rundir.record_budget(path, config.timesteps)
    final_done = plan.final_steps is not None and total <= plan.final_steps
    if plan.final_steps is not None and not final_done:
        _keep_earlier_final(path, plan.final_steps, total, say)
    settings = config.resolved_method().later_phase_settings(config)
    post_train = rundir.post_train_problem(path, settings) if final_done else None
    if post_train is not None:
        say(f"{rundir.post_train_dir(path)}: {post_train}; the post-training step starts over")
    _set_aside_damaged_log(path, say)
    _seed_everything(config.seed + plan.source.steps, config.num_threads)
    stack = build_env(config, spec, hp, config.n_envs or hp.n_envs)
    rundir.verify_folder(plan.source.path, path)  # checked again: it is loaded now
    model = _restore(plan.source.path, config, stack)
    rundir.drop_replay_buffers_before(path, plan.source.steps)  # kept by an older mtml-rl, or left by a kill
    if not final_done and _without_replay_buffer(model, plan.source.path):
        say(
            f"{plan.source.path} keeps no replay buffer (final/ never does, a periodic checkpoint "
            f"only while it is the newest): {type(model).__name__} goes on with an empty one"
        )
    kept = rundir.post_train_logged_step(path, settings) if final_done else None
    model.set_logger(make_logger(path / "logs", keep_until_step=kept or plan.source.steps))
    rundir.append_command(path, command or _command_line())
    return _learn(path, config, spec, model, stack, total, progress, reset=False, final_done=final_done)


def _set_aside_damaged_log(path: Path, say: Note) -> None:
    """Keep a ``progress.csv`` that does not read as the log aside, so the resume logs afresh."""
    damaged = set_aside_damaged_log(path / "logs")
    if damaged is not None:
        copy, problem = damaged
        say(f"{path / 'logs' / 'progress.csv'} {problem}: kept as {copy.name}; the log starts again")


def _keep_earlier_final(path: Path, steps: int, total: int, say: Note) -> None:
    """Keep ``final/`` (of ``steps``) before training on to ``total`` replaces it."""
    kept = rundir.keep_final(path, steps)
    if kept is not None:
        say(f"kept final/ of step {steps} as {kept}: training on to {total} replaces final/")


def _without_replay_buffer(model: BaseAlgorithm, folder: Path) -> bool:
    """Whether ``model`` learns from a replay buffer that ``folder`` does not keep."""
    return isinstance(model, OffPolicyAlgorithm) and not rundir.has_replay_buffer(folder)


def _restore(folder: Path, config: TrainConfig, stack: EnvStack) -> BaseAlgorithm:
    algo = config.resolved_method().algorithm(config)
    try:
        model = algo.cls.load(folder / rundir.MODEL_FILE, env=stack.env, device=config.device)
        with open(folder / rundir.SCHEDULER_FILE, "rb") as handle:
            stack.venv.slots.set_rng_state(pickle.load(handle))
        if stack.normalizer is not None:
            _restore_normalizer(folder, stack.normalizer)
        if isinstance(model, OffPolicyAlgorithm) and rundir.has_replay_buffer(folder):
            model.load_replay_buffer(folder / rundir.REPLAY_FILE)
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(
            f"checkpoint {folder} does not load ({type(exc).__name__}: {exc}); "
            "delete it to resume from an older one"
        ) from None
    use_foreach_updates(model)
    model.set_random_seed(config.seed + model.num_timesteps)
    _keep_restored_streams(stack)
    return model


def _restore_normalizer(folder: Path, normalizer: VecNormalize) -> None:
    """Take the saved observation and return statistics (refused if they are not this run's)."""
    file = folder / rundir.NORMALIZER_FILE
    if not file.is_file():
        raise CheckpointError(f"{file} is missing, but the run normalizes observations")
    with open(file, "rb") as handle:
        saved = pickle.load(handle)
    rundir.check_normalizer(saved, normalizer.observation_space, file)
    normalizer.obs_rms = saved.obs_rms
    normalizer.ret_rms = saved.ret_rms


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


def _refuse_changed_hyperparams(
    path: Path, config: TrainConfig, hp: Hyperparams, say: Note, *, budget_given: bool
) -> None:
    """Refuse to resume a run whose config resolves to other hyperparameters than it trained
    with (``hyperparams.yaml``; one that does not read is said, and not checked): its
    ``profile`` edited, or the shipped defaults changed in another mtml-rl. The model keeps
    its own, but the environment slots, normalization and budget come from the resolved ones
    (a changed ``n_envs`` ended in an ``IndexError``)."""
    changes = rundir.changed_hyperparams(
        path, hyperparams_record(config, hp), compare_budget=config.timesteps is None and not budget_given
    )
    if changes is None:
        record = path / "hyperparams.yaml"
        what = "does not read as a mapping" if record.exists() else "is missing"
        say(
            f"{record} {what}: the hyperparameters the run trained with cannot be checked against "
            "what its config resolves to now; it goes on with the latter (a grid trains such a run "
            "again)"
        )
        return
    if changes:
        listed = "; ".join(str(change) for change in changes[:4])
        more = f"; and {len(changes) - 4} more" if len(changes) > 4 else ""
        raise CheckpointError(
            f"{path} trained with other hyperparameters than its config.yaml resolves to now "
            f"({listed}{more}): restore config.yaml, or resume with the mtml-rl version that "
            "trained it (versions.json)"
        )


def hyperparams_record(config: TrainConfig, hp: Hyperparams) -> dict[str, Any]:
    """What a run records in its ``hyperparams.yaml``: the hyperparameters ``config`` resolves
    to (the shipped defaults of its family and algorithm, with its overrides), as plain data."""
    return {
        "n_envs": config.n_envs or hp.n_envs,
        "n_timesteps": config.timesteps or hp.n_timesteps,
        "normalize": hp.normalize,
        **{k: _describe(v) for k, v in hp.algo_kwargs.items()},
    }


def _describe(value: Any) -> Any:
    if isinstance(value, LinearSchedule):
        return repr(value)  # lin_0.001
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
    final_done: bool = False,
) -> Run:
    """Train up to ``total`` steps, save ``final/`` (unless ``final_done``: it is saved and
    verifies), run the method's post-training step and mark the run finished."""
    run = Run(path, config, spec, model, stack.normalizer)
    try:
        if not final_done:
            _train_steps(run, stack, total, progress, reset)
            _save(path / "final", run, stack, point="final")
        if run.method.post_training:
            rundir.write_status(path, run.method.post_training, int(model.num_timesteps))
            run.method.post_train(run, stack.venv.num_envs)
            write_manifest(path / "final")  # now vouching for what post-training added
            rundir.remove_post_train(path)
    finally:
        _close_logs(model)
    rundir.write_status(path, "finished", int(model.num_timesteps))
    return run


def _train_steps(run: Run, stack: EnvStack, total: int, progress: bool | None, reset: bool) -> None:
    """``model.learn`` up to ``total`` steps with the run's callbacks (nothing if there)."""
    model, path = run.model, run.path
    remaining = total - int(model.num_timesteps)
    if remaining <= 0:
        return
    callbacks = _callbacks(run, stack, total, progress)
    rundir.write_status(path, "running", int(model.num_timesteps))
    try:
        model.learn(
            total_timesteps=remaining,
            callback=callbacks,
            reset_num_timesteps=reset,
            tb_log_name="",
            progress_bar=False,
        )
    except BaseException:
        rundir.write_status(path, "interrupted", int(model.num_timesteps))
        raise
    _flush_logs(model)


def _close_logs(model: BaseAlgorithm) -> None:
    """Close the run's log files; later calls on the model log nowhere instead."""
    model.logger.close()
    silence_logger(model)


def _flush_logs(model: BaseAlgorithm) -> None:
    """Write what the last update recorded: SB3 dumps logs before each update, so the losses
    of the final one would otherwise never reach the logs."""
    if model.logger.name_to_value:
        model.logger.record("time/total_timesteps", model.num_timesteps)
        model.logger.dump(model.num_timesteps)


def _save(
    target: Path, run: Run, stack: EnvStack, *, replay: bool = False, point: str = "checkpoint"
) -> None:
    state = stack.venv.slots.rng_state()
    rundir.save_checkpoint(target, run.model, stack.normalizer, state, run.config, replay=replay, point=point)


def _callbacks(run: Run, stack: EnvStack, total: int, progress: bool | None) -> list[BaseCallback]:
    config = run.config
    label = f"{run.spec.name} {run.method.name}/{config.algo} s{config.seed}"

    def checkpoint(steps: int) -> None:
        _save(rundir.checkpoint_dir(run.path, steps), run, stack, replay=True)
        rundir.drop_replay_buffers_before(run.path, steps)

    return [
        TaskReturnLogger(stack.monitor),
        PeriodicCallback(config.save_freq, checkpoint),
        PeriodicCallback(config.eval_freq, _evaluator(run)),
        RichProgress(total, label, enabled=progress),
    ]


def _evaluator(run: Run) -> Callable[[int], None]:
    """Evaluate on the first tasks of every split the method can play; keep the best model by
    the train split (a damaged record of the best stops the run: see
    :func:`recovery.recorded_best`)."""
    best = {"value": recovery.recorded_best(run.path)}
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
                record = {"steps": steps, "train_return_mean": value}
                rundir.save_best(run.path / "best", run.model, run.normalizer, run.config, record)
        run.model.logger.record("time/total_timesteps", steps)
        run.model.logger.dump(steps)

    return evaluate
