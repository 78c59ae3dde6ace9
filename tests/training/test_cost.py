"""What training costs before it runs (:mod:`mtml_rl.training.cost`), in sample passes: a pass
per step collected, plus what the algorithm's updates spend on each step."""

from __future__ import annotations

from mtml_rl.methods import get_method
from mtml_rl.specs.spec import resolve_spec
from mtml_rl.training import TrainConfig
from mtml_rl.training.algorithms import get_algo
from mtml_rl.training.cost import passes_per_update_step, training_work


def test_an_on_policy_step_is_trained_on_n_epochs_times() -> None:
    assert training_work(get_algo("ppo"), {"n_epochs": 4}, 8, 1000) == 1000 + 4 * 1000
    assert training_work(get_algo("ppo"), {}, 8, 1000) == 1000 + 10 * 1000  # PPO's default: 10
    assert training_work(get_algo("a2c"), {}, 8, 1000) == 2000  # A2C: no epochs, one pass


def test_an_off_policy_step_costs_its_share_of_the_minibatches_after_learning_starts() -> None:
    sac = get_algo("sac")
    settings = {"learning_starts": 200, "batch_size": 64, "train_freq": 4, "gradient_steps": 2}
    assert training_work(sac, settings, 1, 1000) == 1000 + 800 * (2 * 64 / 4)
    assert training_work(sac, settings, 2, 1000) == 1000 + 800 * (2 * 64 / 8)  # 2 slots: 8 steps per round
    assert training_work(sac, {**settings, "learning_starts": 5000}, 1, 1000) == 1000  # no update yet
    assert passes_per_update_step(sac, {"gradient_steps": -1, "batch_size": 64}, 4) == 64  # one per step
    assert passes_per_update_step(sac, {"train_freq": (1, "episode"), "batch_size": 64}, 2) == 32
    assert passes_per_update_step(get_algo("td3"), {}, 1) == 256  # SB3's defaults: 1 of 256 per step


def test_a_sac_step_on_pendulum_costs_many_ppo_steps_on_cartpole() -> None:
    """The shipped settings: what puts a grid's short SAC trials before its long PPO ones."""

    def per_step(env: str, algo: str) -> float:
        config = TrainConfig(env=env, method="dr", algo=algo)
        return get_method("dr").estimated_cost(config, resolve_spec(env), 20_000, 48) / 20_000

    assert per_step("mtml/Pendulum-v0", "sac") > 10 * per_step("mtml/CartPole-v0", "ppo")


def test_adapt_adds_its_phase_2() -> None:
    spec = resolve_spec("mtml/CartPole-v0")
    dr = get_method("dr").estimated_cost(TrainConfig(env=spec.id, method="dr"), spec, 10_000, 0)
    config = TrainConfig(env=spec.id, method="adapt", adapt_timesteps=1000, adapt_epochs=4)
    assert get_method("adapt").estimated_cost(config, spec, 10_000, 0) == dr + 1000 * (1 + 2 * 4)
