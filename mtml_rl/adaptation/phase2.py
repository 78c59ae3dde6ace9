"""Phase 2 of ``adapt``: train the adaptation module by DAgger with the policy frozen.

Rollouts on the train split act with ``ẑ`` from the module (so it learns on the states
its own estimates lead to), half of the slots with the policy's mean action (as the
deployed agent acts by default) and half with actions sampled as in training, with fresh
exploration noise (:func:`act`); every visited state's history is paired with the target
``z = EnvEncoder(true context)`` and the module regresses ``ẑ`` onto ``z`` over the
aggregated data. The latent error ``|ẑ − z|`` (mean over latent entries) is measured
on each batch of fresh rollouts before training on it, next to the error of the best
constant prediction (the mean latent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.adaptation.module import AdaptationModule, acting_extractor, acting_with, acting_with_latents
from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.policies.history import DEFAULT_HIDDEN
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task
from mtml_rl.training.monitor import POST_TRAINING_RETURN, EpisodeReturns

MAX_DATASET = 200_000
"""Aggregated (history, z) pairs kept; the oldest are dropped beyond it."""
SLOTS = 64
"""Slots of phase 2's rollouts (unless training used more, or the budget is too small for
:data:`ROUND_STEPS`): one batched inference acts for all of them, so a wide vector env costs
little more per step than a narrow one."""
ROUND_STEPS = 25
"""Fewest steps per slot and round that widening phase 2's rollouts may leave (so that small
budgets still play whole episodes)."""


def phase2_slots(n_envs: int, timesteps: int, iterations: int) -> int:
    """Phase 2's slots: :data:`SLOTS`, fewer where each slot would play less than
    :data:`ROUND_STEPS` steps per round, never fewer than training's ``n_envs``."""
    return max(n_envs, min(SLOTS, timesteps // (iterations * ROUND_STEPS)))


@dataclass(frozen=True)
class Phase2Config:
    """Budget and optimizer of phase 2.

    :param timesteps: environment steps of DAgger rollouts
    :param n_envs: parallel slots
    :param iterations: rollout/regression rounds the budget is split into
    :param epochs: passes over the aggregated data per round (with ``replay``: over as many
        samples as the round's fresh ones)
    :param batch_size: regression minibatch size
    :param learning_rate: Adam's step size
    :param arch: history encoder architecture
    :param hidden: the history encoder's hidden width (its channels, for ``conv``)
    :param history_len: ``H``
    :param trial_episodes: episodes per trial of the rollouts (the history carries over
        them, as in phase 1 and at deployment)
    :param seed: seed of rollouts and initialization
    :param replay: each round regresses on ``replay * epochs`` times as many samples as the
        round collected, drawn from all the aggregated data, so every round costs the same
        (``None``: ``epochs`` full passes over the aggregate, whose cost grows every round)
    :param mean_action_share: share of the rollouts' slots that act with the policy's mean
        action, as the deployed agent does by default; the others sample actions as in
        training (:func:`act`). Both are needed: the module is deployed on the histories of
        mean actions, and sampled actions show it how the task answers other actions
    """

    timesteps: int
    n_envs: int
    iterations: int = 10
    epochs: int = 32
    batch_size: int = 512
    learning_rate: float = 2e-3
    arch: str = "conv"
    hidden: int = DEFAULT_HIDDEN
    history_len: int = 16
    trial_episodes: int = 1
    seed: int = 0
    replay: float | None = 2.0
    mean_action_share: float = 0.5


@dataclass(frozen=True)
class LatentErrors:
    """Latent errors on one set of rollouts."""

    module: float
    """Mean ``|ẑ − z|`` of the module."""
    mean_latent: float
    """Mean ``|z̄ − z|`` of predicting ``z̄``, the mean latent over phase 2's training data."""


class _Normalizer:
    def __init__(self, normalizer: VecNormalize | None) -> None:
        self.normalizer = normalizer

    def __call__(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.normalizer is None:
            return obs
        return self.normalizer.normalize_obs(obs)  # type: ignore[return-value]


class RoundStore(Protocol):
    """Where phase 2 keeps its progress after each round, so that a stopped phase 2 goes on
    from its last round (see :func:`train_adaptation`)."""

    def load(self) -> dict[str, Any] | None:
        """The state saved after the last finished round (``None``: start over)."""

    def save(self, state: dict[str, Any], logged_step: int) -> None:
        """Keep ``state`` (tensors, numbers) after a round that logged up to ``logged_step``."""


def _round_state(
    done: int,
    module: AdaptationModule,
    optimizer: th.optim.Optimizer,
    generator: th.Generator,
    data: tuple[np.ndarray, np.ndarray],
) -> dict[str, Any]:
    """Everything a later round depends on: the module, the optimizer, the aggregated data
    and the random streams (the rollouts' env state is not kept: it restarts from a reset)."""
    return {
        "rounds_done": done,
        "module": module.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": th.get_rng_state(),
        "data_x": th.from_numpy(data[0]),
        "data_y": th.from_numpy(data[1]),
    }


def _restore_round(
    state: dict[str, Any], module: AdaptationModule, optimizer: th.optim.Optimizer, generator: th.Generator
) -> tuple[int, np.ndarray, np.ndarray]:
    """Load a :func:`_round_state`; the rounds done and the aggregated data."""
    module.load_state_dict(state["module"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    th.set_rng_state(state["torch_rng"])
    return int(state["rounds_done"]), state["data_x"].numpy(), state["data_y"].numpy()


def _tensor(x: np.ndarray) -> th.Tensor:
    return th.as_tensor(x, dtype=th.float32)


def act(model: BaseAlgorithm, observations: dict[str, np.ndarray], mean_slots: int) -> np.ndarray:
    """The policy's actions for a batch of slots: the first ``mean_slots`` take the mean
    (deterministic) action, the others one sampled as in training (:func:`act_mixed`).

    :param model: the policy's algorithm
    :param observations: the normalized observations of every slot
    :param mean_slots: how many leading slots act with the mean action
    """
    n = len(next(iter(observations.values())))
    return act_mixed(model, observations, np.arange(n) >= mean_slots)


def act_mixed(
    model: BaseAlgorithm,
    observations: dict[str, np.ndarray],
    sampled: np.ndarray,
    latents: th.Tensor | None = None,
) -> np.ndarray:
    """The policy's actions for a batch of slots: the mean (deterministic) action where
    ``sampled`` is false, one sampled as in training where it is true.

    A policy with state-dependent exploration (gSDE) samples with a noise matrix that
    ``predict`` never redraws (training does, every ``sde_sample_freq`` steps): on its own it
    would repeat the matrix training drew last, one fixed perturbation of the mean action for
    every slot and step. So the matrix is drawn afresh here for each sampling slot and step.
    The mean actions are computed first, then the sampled ones, from torch's random stream.

    :param model: the policy's algorithm
    :param observations: the normalized observations of every slot
    :param sampled: ``(N,)`` booleans: which slots sample their action
    :param latents: ``(N, latent_dim)``: the ``z`` each slot acts with (default: whatever
        the policy's extractors read, e.g. a module set by :func:`acting_with`)
    """
    sampled = np.asarray(sampled, dtype=bool)
    mean_rows, sampled_rows = np.flatnonzero(~sampled), np.flatnonzero(sampled)
    parts: list[tuple[np.ndarray, np.ndarray]] = []

    def predict(rows: np.ndarray, deterministic: bool) -> np.ndarray:
        subset = {key: value[rows] for key, value in observations.items()}
        if latents is None:
            return np.asarray(model.predict(subset, deterministic=deterministic)[0])
        with acting_with_latents(model.policy, latents[th.as_tensor(rows)]):
            return np.asarray(model.predict(subset, deterministic=deterministic)[0])

    if len(mean_rows):
        parts.append((mean_rows, predict(mean_rows, True)))
    if len(sampled_rows):
        reset_noise = getattr(model.policy, "reset_noise", None)
        if getattr(model, "use_sde", False) and callable(reset_noise):
            reset_noise(len(sampled_rows))
        parts.append((sampled_rows, predict(sampled_rows, False)))
    actions = np.empty((len(sampled), *parts[0][1].shape[1:]), dtype=parts[0][1].dtype)
    for rows, values in parts:
        actions[rows] = values
    return actions


def collect(
    model: BaseAlgorithm,
    module: AdaptationModule,
    venv: MultiTaskVectorEnv,
    obs: dict[str, np.ndarray],
    steps: int,
    normalize: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
    mean_slots: int = 0,
    returns: EpisodeReturns | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Act with ``ẑ`` for ``steps`` batched steps; return histories, target latents, last obs
    (and add the rewards to ``returns``, if given).

    :param mean_slots: leading slots that act with the mean action (:func:`act`)
    """
    encoder = acting_extractor(model.policy).env_encoder
    assert encoder is not None, "adapt needs the privileged context encoder of phase 1"
    histories, targets = [], []
    for _ in range(steps):
        normalized = normalize(obs)
        with th.no_grad():
            targets.append(encoder(_tensor(normalized["context"])).numpy())
        histories.append(normalized["history"].astype(np.float32))
        with acting_with(model.policy, module):
            actions = act(model, normalized, mean_slots)
        obs, rewards, terminated, truncated, _ = venv.step(actions)
        if returns is not None:
            returns.add(rewards, terminated | truncated)
    return np.concatenate(histories), np.concatenate(targets), obs


def latent_errors(module: AdaptationModule, histories: np.ndarray, targets: np.ndarray) -> LatentErrors:
    """The module's errors on given pairs, and those of predicting the training mean latent."""
    with th.no_grad():
        predicted = module(_tensor(histories)).numpy()
    mean = module.mean_latent.numpy()
    return LatentErrors(float(np.abs(predicted - targets).mean()), float(np.abs(mean - targets).mean()))


def regress(
    module: AdaptationModule,
    optimizer: th.optim.Optimizer,
    histories: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    batch_size: int,
    generator: th.Generator,
    samples: int | None = None,
) -> float:
    """Minimize ``mean (ẑ − z)²`` over the data; returns the last epoch's mean loss.

    :param samples: regress on this many samples drawn at random from the data (one
        "epoch"), instead of ``epochs`` passes over all of it
    """
    x, y = _tensor(histories), _tensor(targets)
    module.train()
    loss_sum, batches = 0.0, 0
    for _ in range(epochs if samples is None else 1):
        loss_sum, batches = 0.0, 0
        if samples is None:
            order = th.randperm(len(x), generator=generator)
        else:
            order = th.randint(len(x), (samples,), generator=generator)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss = th.mean((module(x[idx]) - y[idx]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach())
            batches += 1
    module.eval()
    return loss_sum / max(batches, 1)


def train_adaptation(
    model: BaseAlgorithm,
    normalizer: VecNormalize | None,
    spec: TaskSpec,
    cfg: Phase2Config,
    log: Callable[[int, dict[str, float]], None],
    store: RoundStore | None = None,
) -> AdaptationModule:
    """DAgger on the train split; the policy and its encoders stay frozen.

    :param model: the phase-1 model (privileged context, with history in its observations)
    :param normalizer: its observation normalizer (used frozen), if any
    :param spec: the task distribution
    :param cfg: budget and optimizer
    :param log: receives ``(phase-2 step, metrics)`` after every round
    :param store: keeps the progress after every round and gives it back when phase 2 is
        run again (resumed after a crash); its rollouts then restart from a reset seeded
        with the round, so a resumed phase 2 is reproducible but not bit-identical to an
        uninterrupted one
    """
    th.manual_seed(cfg.seed)
    latent_dim = acting_extractor(model.policy).latent_dim
    venv = make_task_vector_env(
        spec,
        num_envs=cfg.n_envs,
        split="train",
        context="privileged",
        history_len=cfg.history_len,
        trial_episodes=cfg.trial_episodes,
    )
    row_dim = venv.slots.layout.row_dim
    module = AdaptationModule(cfg.history_len, row_dim, latent_dim, arch=cfg.arch, hidden=cfg.hidden)
    module.eval()
    optimizer = th.optim.Adam(module.parameters(), lr=cfg.learning_rate)
    generator = th.Generator().manual_seed(cfg.seed)
    model.policy.set_training_mode(False)
    for p in model.policy.parameters():
        p.requires_grad_(False)
    normalize = _Normalizer(normalizer)
    obs, _ = venv.reset(seed=cfg.seed)
    per_round = max(1, cfg.timesteps // (cfg.iterations * cfg.n_envs))
    mean_slots = round(cfg.mean_action_share * cfg.n_envs)
    data_x, data_y = (
        np.zeros((0, cfg.history_len * row_dim), np.float32),
        np.zeros((0, latent_dim), np.float32),
    )
    returns = EpisodeReturns(cfg.n_envs)
    start, saved = 0, store.load() if store is not None else None
    if saved is not None:
        start, data_x, data_y = _restore_round(saved, module, optimizer, generator)
        obs, _ = venv.reset(seed=cfg.seed + start)
    for it in range(start, cfg.iterations):
        histories, targets, obs = collect(model, module, venv, obs, per_round, normalize, mean_slots, returns)
        if it == 0:
            module.mean_latent.copy_(_tensor(targets.mean(axis=0)))
        errors = latent_errors(module, histories, targets)
        data_x = np.concatenate([data_x, histories])[-MAX_DATASET:]
        data_y = np.concatenate([data_y, targets])[-MAX_DATASET:]
        module.mean_latent.copy_(_tensor(data_y.mean(axis=0)))
        samples = None if cfg.replay is None else max(1, int(cfg.replay * cfg.epochs * len(histories)))
        loss = regress(module, optimizer, data_x, data_y, cfg.epochs, cfg.batch_size, generator, samples)
        metrics = {
            "adapt/latent_error": errors.module,
            "adapt/mean_latent_error": errors.mean_latent,
            "adapt/regression_loss": loss,
            "adapt/dataset_size": float(len(data_x)),
        }
        mean_return = returns.drain()
        if mean_return is not None:
            metrics[POST_TRAINING_RETURN] = mean_return
        log((it + 1) * per_round * cfg.n_envs, metrics)
        if store is not None:
            state = _round_state(it + 1, module, optimizer, generator, (data_x, data_y))
            store.save(state, (it + 1) * per_round * cfg.n_envs)
    for p in model.policy.parameters():
        p.requires_grad_(True)
    venv.close()
    return module


def split_latent_error(
    model: BaseAlgorithm,
    normalizer: VecNormalize | None,
    module: AdaptationModule,
    spec: TaskSpec,
    tasks: list[Task],
    history_len: int,
    seed: int,
) -> LatentErrors:
    """Latent errors over one episode of each task, acting with ``ẑ`` (deployed behaviour)."""
    return splits_latent_errors(model, normalizer, module, spec, {"": tasks}, history_len, seed)[""]


def splits_latent_errors(
    model: BaseAlgorithm,
    normalizer: VecNormalize | None,
    module: AdaptationModule,
    spec: TaskSpec,
    splits: Mapping[str, Sequence[Task]],
    history_len: int,
    seed: int,
) -> dict[str, LatentErrors]:
    """:func:`split_latent_error` of several task lists at once: every list's tasks are slots
    of one vector env, stepped together with batched inference, and each list's slots are
    seeded as if they were alone (``seed + i`` for its ``i``-th task), so each list's episodes
    are those :func:`split_latent_error` plays for it.

    :param splits: the tasks of each split, by name (each list non-empty)
    """
    names = list(splits)
    tasks = [task for name in names for task in splits[name]]
    seeds = [seed + i for name in names for i in range(len(splits[name]))]
    venv = make_task_vector_env(
        spec, num_envs=len(tasks), tasks=tasks, context="privileged", history_len=history_len
    )
    obs, _ = venv.reset(seed=seeds)
    horizon = venv.max_episode_steps
    histories, targets, _ = collect(
        model, module, venv, obs, horizon, _Normalizer(normalizer), mean_slots=len(tasks)
    )
    venv.close()
    histories = histories.reshape(horizon, len(tasks), *histories.shape[1:])
    targets = targets.reshape(horizon, len(tasks), *targets.shape[1:])
    errors, start = {}, 0
    for name in names:
        part = slice(start, start + len(splits[name]))
        start = part.stop
        errors[name] = latent_errors(
            module,
            histories[:, part].reshape(-1, *histories.shape[2:]),
            targets[:, part].reshape(-1, *targets.shape[2:]),
        )
    return errors
