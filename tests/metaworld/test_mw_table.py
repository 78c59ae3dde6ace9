"""The Meta-World table (``mtml_rl/families/metaworld/table.py``) is Meta-World's own data, and
the shipped spec files are what ``scripts/make_metaworld_specs.py`` writes from it."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from mw_helpers import SKIP_REASON
from script_loading import load_script

from mtml_rl.families.metaworld import BENCHMARKS, ENVS, METAWORLD_VERSION
from mtml_rl.families.metaworld.positions import official_vectors, too_close

SOME = ("reach-v3", "push-v3", "sweep-into-v3", "drawer-open-v3", "coffee-button-v3")
LOOPED = sorted(name for name, row in ENVS.items() if row.min_distance > 0)


def test_the_spec_files_are_generated_from_the_table() -> None:
    generator = load_script("make_metaworld_specs")
    files = generator.spec_files(generator.shipped_table())
    assert len(files) == len(ENVS) + len(BENCHMARKS)
    for path, text in files.items():
        assert path.read_text() == text, (
            f"{path.name} differs: run scripts/make_metaworld_specs.py --specs-only"
        )


def test_names_benchmarks_and_version_are_metaworlds() -> None:
    pytest.importorskip("metaworld", reason=SKIP_REASON)
    from importlib.metadata import version

    from metaworld import env_dict

    assert version("metaworld") == METAWORLD_VERSION
    assert tuple(ENVS) == tuple(env_dict.ALL_V3_ENVIRONMENTS)
    assert BENCHMARKS["MT10"] == (tuple(env_dict.MT10_V3), ())
    assert BENCHMARKS["ML10"] == (tuple(env_dict.ML10_V3["train"]), tuple(env_dict.ML10_V3["test"]))
    assert BENCHMARKS["ML45"] == (tuple(env_dict.ML45_V3["train"]), tuple(env_dict.ML45_V3["test"]))


def test_distance_checks_are_read_from_the_resets() -> None:
    pytest.importorskip("metaworld", reason=SKIP_REASON)
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    for name, cls in ALL_V3_ENVIRONMENTS.items():
        found = load_script("make_metaworld_specs").LOOP.findall(inspect.getsource(cls.reset_model))
        assert ENVS[name].min_distance == (float(found[0][1]) if found else 0.0), name


def _check_reset_spaces(names: tuple[str, ...] | list[str]) -> None:
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    for name in names:
        env = ALL_V3_ENVIRONMENTS[name]()
        space = env._random_reset_space
        assert (tuple(space.low), tuple(space.high)) == (ENVS[name].low, ENVS[name].high), name
        env.close()


def test_reset_spaces_are_metaworlds() -> None:
    pytest.importorskip("metaworld", reason=SKIP_REASON)
    _check_reset_spaces(SOME)


@pytest.mark.slow
def test_every_reset_space_is_metaworlds() -> None:
    pytest.importorskip("metaworld", reason=SKIP_REASON)
    _check_reset_spaces([n for n in ENVS if n not in SOME])


def _accepts(env: object, vector: np.ndarray, fallback: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the environment's own reset keeps ``vector`` (else it draws again: ``fallback``)."""
    draws = iter([vector, fallback, fallback])
    monkeypatch.setattr(np.random, "uniform", lambda *args, **kwargs: next(draws).copy())
    env._freeze_rand_vec = False  # type: ignore[attr-defined]
    env.seeded_rand_vec = False  # type: ignore[attr-defined]
    env.reset_model()  # type: ignore[attr-defined]
    monkeypatch.undo()
    return bool(np.array_equal(env._last_rand_vec, vector))  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("name", LOOPED)
def test_the_distance_check_is_the_resets_own(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors just beyond and just inside the table's distance: the reset keeps the first and
    draws again for the second, exactly as :func:`too_close` says (a frozen task vector the
    reset would refuse makes Meta-World loop forever, so this is what keeps tasks safe)."""
    pytest.importorskip("metaworld", reason=SKIP_REASON)
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    row = ENVS[name]
    fallback = official_vectors([name], 0)[name][0]
    env = ALL_V3_ENVIRONMENTS[name]()
    for offset in (1e-6, -1e-6):
        vector = fallback.copy()
        target = np.array(row.target) if row.target is not None else vector[3:5]
        direction = (vector[:2] - target) / np.linalg.norm(vector[:2] - target)
        vector[:2] = target + (row.min_distance + offset) * direction
        assert too_close(row, vector) == (offset < 0)
        assert _accepts(env, vector, fallback, monkeypatch) == (offset > 0), (name, offset)
    env.close()
