"""Meta-World environments built from a compiled model's copy: Meta-World's own classes,
models equal to a fresh compilation, no model shared between two environments, and a
Gymnasium whose simulation set-up differs from the one written out builds them itself."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from mw_helpers import require_metaworld

require_metaworld()

FIELDS = ("body_pos", "body_mass", "geom_size", "geom_friction", "site_pos", "qpos0", "actuator_gear")


def test_an_environment_is_metaworlds_own_class_with_a_model_equal_to_a_fresh_compilation() -> None:
    import mujoco
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    from mtml_rl.families.metaworld import sim

    env = sim._build("drawer-open-v3", None)
    assert type(env) is ALL_V3_ENVIRONMENTS["drawer-open-v3"]
    assert "_initialize_simulation" not in vars(env), "the stand-in is gone after construction"
    fresh = mujoco.MjModel.from_xml_path(env.fullpath)
    for field in FIELDS:
        assert np.array_equal(getattr(env.model, field), getattr(fresh, field)), field
    assert env.model.opt.timestep == fresh.opt.timestep
    assert (env.model.nq, env.model.nbody, env.model.ngeom) == (fresh.nq, fresh.nbody, fresh.ngeom)
    clone = pickle.loads(pickle.dumps(env))
    assert type(clone) is type(env)
    env.close()
    clone.close()


def test_two_environments_of_one_xml_do_not_share_their_model() -> None:
    from mtml_rl.families.metaworld import sim

    first, second = sim._build("reach-v3", None), sim._build("reach-v3", None)
    assert first.model is not second.model and first.data is not second.data
    before = second.model.body_pos.copy()
    first.model.body_pos[:] += 1.0  # Meta-World moves bodies in its model when it resets
    assert np.array_equal(second.model.body_pos, before)
    assert np.array_equal(sim.compiled_model(first.fullpath).body_pos, before)
    first.close()
    second.close()


def test_a_changed_simulation_set_up_in_gymnasium_builds_without_the_compiled_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mujoco
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    from mtml_rl.families.metaworld import sim

    cls = ALL_V3_ENVIRONMENTS["window-open-v3"]
    try:
        sim.builds_from_compiled.cache_clear()
        assert sim.builds_from_compiled(cls)  # the installed Gymnasium's set-up is the one written out
        monkeypatch.setattr(sim, "INITIALIZE_SIMULATION_DIGESTS", frozenset({"0" * 64}))  # as a changed one
        sim.builds_from_compiled.cache_clear()
        monkeypatch.setattr(sim, "_COMPILED", {})
        env = sim._build("window-open-v3", None)
        assert sim._COMPILED == {}  # compiled by Gymnasium's own set-up, not copied
        assert type(env) is cls
        fresh = mujoco.MjModel.from_xml_path(env.fullpath)
        for field in FIELDS:
            assert np.array_equal(getattr(env.model, field), getattr(fresh, field)), field
        env.close()
    finally:
        sim.builds_from_compiled.cache_clear()
