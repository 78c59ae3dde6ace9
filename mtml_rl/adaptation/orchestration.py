"""Phase 2 of a trained ``adapt`` run: train, measure and save its adaptation module.

This is the ``adapt`` method's post-training step (:meth:`Method.post_train`), run by the
training loop once the policy is saved; it logs to the run's logs and writes
``final/adaptation.pt`` and ``final/adaptation.json``.
"""

from __future__ import annotations

import json
from typing import Any

import torch as th

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule
from mtml_rl.adaptation.phase2 import Phase2Config, phase2_slots, splits_latent_errors, train_adaptation
from mtml_rl.io import atomic_write_json
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import rundir
from mtml_rl.training.run import EVAL_SEED, Run


def phase2_config(run: Run, n_envs: int) -> Phase2Config:
    """Phase 2's budget and optimizer from the run's config (slots: :func:`phase2_slots`)."""
    config = run.config
    return Phase2Config(
        timesteps=config.adapt_timesteps,
        n_envs=phase2_slots(n_envs, config.adapt_timesteps, config.adapt_iterations),
        iterations=config.adapt_iterations,
        epochs=config.adapt_epochs,
        arch=config.history_arch,
        hidden=config.history_hidden,
        history_len=config.history_len,
        trial_episodes=run.trial_episodes,
        seed=config.seed,
    )


def run_phase2(run: Run, n_envs: int) -> AdaptationModule:
    """Train and save the adaptation module of an ``adapt`` run, logging latent errors."""
    cfg = phase2_config(run, n_envs)
    logger = run.model.logger
    offset = int(run.model.num_timesteps)

    def log(step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            logger.record(key, value)
        logger.record("time/total_timesteps", offset + step)
        logger.dump(offset + step)

    store = Phase2Store(run, offset)
    module = train_adaptation(run.model, run.normalizer, run.spec, cfg, log, store)
    errors = split_errors(run, module)
    logger.record("time/total_timesteps", offset + cfg.timesteps)
    logger.dump(offset + cfg.timesteps)
    module.save(run.path / "final" / MODULE_FILE)
    atomic_write_json(
        run.path / "final" / RECORD_FILE,
        {"phase2": cfg.__dict__, "latent_errors": errors, SETTINGS: store.settings()},
    )
    return module


RECORD_FILE = "adaptation.json"
"""Phase 2's record in ``final/``: its settings, budget and the module's latent errors."""
SETTINGS = "settings"
"""The record's field of the run's later-phase settings phase 2 ran with (an earlier
mtml-rl's record lacks it)."""


def changed_settings(run: Run) -> list[str]:
    """The later-phase settings (``adapt_epochs`` ...) the run's ``config.yaml`` gives
    otherwise than the phase 2 that trained ``final/``'s module ran with (``[]``: none, or a
    record from before they were kept)."""
    try:
        record = json.loads((run.path / "final" / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []  # phase 2 not finished: the module's own check names that
    recorded = record.get(SETTINGS) if isinstance(record, dict) else None
    if not isinstance(recorded, dict):
        return []
    now = rundir.as_json_record(run.method.later_phase_settings(run.config))
    changes = rundir.setting_changes(recorded, now)
    return [f"{c.name} is {c.now!r}, was {c.recorded!r}" for c in changes]


STATE_FILE = "phase2.pt"
"""Phase 2's state after its last finished round, in the run's post-training folder."""


class Phase2Store:
    """Phase 2's progress in the run's ``checkpoints/post_train/`` (see
    :func:`mtml_rl.training.rundir.save_post_train`): saved after every round, and given
    back to a resumed phase 2 only if it belongs to the run's current final model.

    :param run: the run whose phase 2 this is
    :param offset: the policy's step count (phase 2 logs after it)
    """

    def __init__(self, run: Run, offset: int) -> None:
        self.run = run
        self.offset = offset

    def load(self) -> dict[str, Any] | None:
        """The state after the last saved round (``None``: none, or not this final model's)."""
        folder = rundir.post_train_progress(self.run.path, self.settings())
        if folder is None or not (folder / STATE_FILE).is_file():
            return None
        state: dict[str, Any] = th.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
        return state

    def save(self, state: dict[str, Any], logged_step: int) -> None:
        """Replace the saved progress with ``state`` (whole, or not at all)."""
        rundir.save_post_train(
            self.run.path,
            lambda tmp: th.save(state, tmp / STATE_FILE),
            self.offset + logged_step,
            self.settings(),
        )

    def settings(self) -> dict[str, Any]:
        """The settings phase 2 runs with, as its saved progress records them."""
        return self.run.method.later_phase_settings(self.run.config)


def split_errors(run: Run, module: AdaptationModule) -> dict[str, dict[str, float]]:
    """The module's latent error (and the mean latent's) on the first tasks of every split,
    recorded in the run's logger (all splits stepped together: :func:`splits_latent_errors`)."""
    config, logger = run.config, run.model.logger
    limit = config.eval_tasks or None
    splits = {name: list(split.tasks[:limit]) for name, split in build_splits(run.spec).items()}
    measured = splits_latent_errors(
        run.model, run.normalizer, module, run.spec, splits, config.history_len, EVAL_SEED
    )
    errors: dict[str, dict[str, float]] = {}
    for name, found in measured.items():
        errors[name] = {"latent_error": found.module, "mean_latent_error": found.mean_latent}
        logger.record(f"adapt/{name}/latent_error", found.module)
        logger.record(f"adapt/{name}/mean_latent_error", found.mean_latent)
    return errors
