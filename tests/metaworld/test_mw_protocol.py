"""Meta-World's splits: its own train and test tasks for the seed (bit for bit where Meta-World
is installed), held-out environments never trained on, held-out positions outside the reset
box, and hashes that stay put. Everything here but the comparisons with Meta-World runs
without the extra."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mtml_rl
from mtml_rl.families.metaworld import BENCHMARKS, MetaWorld
from mtml_rl.families.metaworld.positions import official_vectors
from mtml_rl.specs import build_splits

SPLITS = ("train", "test-interpolation", "test-extrapolation")
PINNED = {
    "mtml/ML1_reach-v3": ("ae556bdc3d2e4535", ("21cecef87da70c3c", "dd7d0b7ce7b1a5f9", "9bb45c6d3580267b")),
    "mtml/ML1_push-v3": ("28017ec5b5c526fd", ("a6caf0aed3d2b974", "ae861ab90558320b", "b30435b1e3920393")),
    "mtml/MT10-v3": ("fe71fc64f6e52be6", ("08b715f9a5014eea",)),
    "mtml/ML10-v3": ("80a2ff235afe854c", ("83030cff8e3e6e70", "e9234eebb66c47d0", "c5b6a343a351a1b8")),
}
"""Spec hash and split hashes (in :data:`SPLITS` order) of some of the Meta-World specs."""


@pytest.mark.parametrize("spec_id", sorted(PINNED))
def test_split_hashes_are_stable(spec_id: str) -> None:
    spec = mtml_rl.resolve_spec(spec_id)
    spec_hash, split_hashes = PINNED[spec_id]
    assert spec.content_hash() == spec_hash
    assert build_splits(spec).hashes() == dict(zip(SPLITS, split_hashes, strict=False))


def test_held_out_environments_never_appear_in_training() -> None:
    splits = build_splits(mtml_rl.resolve_spec("mtml/ML10-v3"))
    train_envs, test_envs = BENCHMARKS["ML10"]
    assert {t["env"] for t in splits["train"]} == set(train_envs)
    assert {t["env"] for t in splits["test-interpolation"]} <= set(train_envs)
    assert {t["env"] for t in splits["test-extrapolation"]} == set(test_envs)
    assert [t["env"] for t in splits["test-extrapolation"]][::10] == list(test_envs)
    assert not set(splits["train"]) & set(splits["test"])


def test_ml1_held_out_positions_lie_outside_the_reset_box() -> None:
    spec = mtml_rl.resolve_spec("mtml/ML1_push-v3")
    splits = build_splits(spec)
    for task in splits["test-extrapolation"]:
        outside = [p.name for p in spec.parameters if not 0.0 <= float(task[p.name]) <= 1.0]
        assert len(outside) == 1 and outside[0] in ("obj_x", "obj_y", "goal_x", "goal_y")
    for split in ("train", "test-interpolation"):
        assert all(0.0 <= float(t[p.name]) <= 1.0 for t in splits[split] for p in spec.parameters)


def test_every_multi_task_spec_holds_its_benchmark() -> None:
    for bench, (train, test) in BENCHMARKS.items():
        spec = mtml_rl.resolve_spec(f"mtml/{bench}-v3")
        env = spec.parameter("env")
        assert env.values == (*train, *test)
        goal = spec.fixed["goal_obs"]
        assert goal == ("observed" if bench.startswith("MT") else "hidden")


def test_every_ml1_spec_is_registered() -> None:
    for env in MetaWorld.params_cls.__dataclass_fields__["env"].metadata["values"]:
        spec = mtml_rl.resolve_spec(f"mtml/ML1_{env.removesuffix('-v3').replace('-', '_')}-v3")
        assert spec.fixed["env"] == env and spec.protocol == "metaworld"


# ---------------------------------------------------------------------------- Meta-World's own
def _rand_vecs(tasks: list) -> list[tuple[str, np.ndarray]]:
    return [(t.env_name, pickle.loads(t.data)["rand_vec"]) for t in tasks]


@pytest.mark.parametrize("env", ["reach-v3", "push-v3", "sweep-into-v3"])
@pytest.mark.slow  # Meta-World's own benchmarks built, against our splits
def test_ml1_splits_are_metaworlds_own_tasks(env: str) -> None:
    metaworld = pytest.importorskip("metaworld", reason="the metaworld extra is not installed")
    name = env.removesuffix("-v3").replace("-", "_")
    splits = build_splits(mtml_rl.resolve_spec(f"mtml/ML1_{name}-v3"))
    benchmark = metaworld.ML1(env, seed=0)
    for split, theirs in (("train", benchmark.train_tasks), ("test-interpolation", benchmark.test_tasks)):
        ours = [MetaWorld.vector(t) for t in splits[split]]
        vectors = [v for _, v in _rand_vecs(theirs)]
        assert len(ours) == len(vectors) == 50
        assert np.allclose(ours, vectors, rtol=0, atol=1e-10)  # u to 10 digits: < 1e-10 m


@pytest.mark.slow
def test_the_task_stream_runs_on_across_environments() -> None:
    """Meta-World draws the tasks of a benchmark's environments from one stream, one env after
    another: its CustomML benchmark over three environments gives the same vectors, bit for bit."""
    metaworld = pytest.importorskip("metaworld", reason="the metaworld extra is not installed")
    train, test = ["window-close-v3", "pick-place-v3"], ["sweep-into-v3"]
    benchmark = metaworld.CustomML(train, test, seed=7)
    for envs, tasks in ((train, benchmark.train_tasks), (test, benchmark.test_tasks)):
        ours = official_vectors(envs, 7)
        theirs = _rand_vecs(tasks)
        flat = [(env, v) for env in envs for v in ours[env]]
        assert [e for e, _ in flat] == [e for e, _ in theirs]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(flat, theirs, strict=True))


def _same_tasks(ours: list, theirs: list[tuple[str, np.ndarray]]) -> bool:
    """The same environments and reset vectors (to the 1e-10 m of 10 significant digits)."""
    return len(ours) == len(theirs) and all(
        t["env"] == env and np.allclose(MetaWorld.vector(t), v, rtol=0, atol=1e-10)
        for t, (env, v) in zip(ours, theirs, strict=True)
    )


@pytest.mark.slow
def test_ml10_splits_are_metaworlds_own_tasks() -> None:
    metaworld = pytest.importorskip("metaworld", reason="the metaworld extra is not installed")
    splits = build_splits(mtml_rl.resolve_spec("mtml/ML10-v3"))
    benchmark = metaworld.ML10(seed=0)
    assert _same_tasks(list(splits["train"]), _rand_vecs(benchmark.train_tasks))
    first_ten = [task for k, task in enumerate(_rand_vecs(benchmark.test_tasks)) if k % 50 < 10]
    assert _same_tasks(list(splits["test-extrapolation"]), first_ten)
