"""A ``results.json`` whose records disagree is refused when read, naming what disagrees;
``compare`` merges one run's splits from several evaluations whole.

The documents are built by hand (:func:`evaluation_helpers.results`), so each mutation is the
only thing wrong with them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from evaluation_helpers import CARTPOLE, episodes, results

from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.evaluation.merge import merge_results
from mtml_rl.evaluation.results import GridResult, Protocol, Results, load_results


def written(document: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(document))
    return folder


def test_a_whole_document_reads_back(tmp_path: Path) -> None:
    assert load_results(written(results().to_json(), tmp_path)).episodes == results().episodes


def drop_an_episode(d: dict[str, Any]) -> None:
    del d["episodes"][3]


def repeat_an_episode(d: dict[str, Any]) -> None:
    d["episodes"].append(copy.deepcopy(d["episodes"][0]))


def set_field(where: str, index: int, name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        d[where][index][name] = value

    return mutate


def repeat_first(where: str) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        d[where].append(copy.deepcopy(d[where][0]))

    return mutate


def grid_of_unknown_run(d: dict[str, Any]) -> None:
    grid = GridResult(
        CARTPOLE, ["length", "actuator_gain"], [0.5], [1.0], {}, [], None, [[20.0]], None, {"run7": [[1.0]]}
    )
    d["grids"].append(Results(Protocol(1, 0, True, []), [], [], [], grids=[grid]).to_json()["grids"][0])


@pytest.mark.parametrize(
    ("mutate", "said"),
    [
        (drop_an_episode, "run run0 has 3 episodes of train, not 4 (2 of each of its 2 tasks)"),
        (repeat_an_episode, "episodes/16 repeats episode 0 of run run0 on train-0"),
        (set_field("episodes", 0, "run", "run9"), "episodes/0 is of run 'run9', which runs does not list"),
        (set_field("episodes", 0, "task_id", "nope"), "episodes/0 is of task nope, which tasks"),
        (set_field("episodes", 0, "split", "test-foo"), "does not list in mtml/CartPole-v0 (test-foo)"),
        (set_field("episodes", 0, "spec", "mtml/Pendulum-v0"), "is of mtml/Pendulum-v0, its run run0 of"),
        (set_field("episodes", 1, "index", 5), "episodes/1 has index 5, outside 0 to 1"),
        (set_field("episodes", 1, "trial", 0), "index 1, but is episode 0 of trial 0 in trials of 1"),
        (repeat_first("runs"), "run id 'run0' is listed twice in runs"),
        (set_field("runs", 1, "path", "/runs/dr-s0"), "run /runs/dr-s0 deployed as dr is listed twice"),
        (repeat_first("tasks"), "task train-0 of mtml/CartPole-v0 (train) is listed twice in tasks"),
        (grid_of_unknown_run, "grids/0 has returns of run 'run7', which runs does not list"),
    ],
)  # fmt: skip
def test_a_document_whose_records_disagree_is_refused_naming_what(
    mutate: Callable[[dict[str, Any]], None], said: str, tmp_path: Path
) -> None:
    document = results().to_json()
    mutate(document)
    with pytest.raises(CheckpointError, match="its records disagree") as refused:
        load_results(written(document, tmp_path))
    assert said in str(refused.value)
    assert "evaluate the runs again" in str(refused.value)


def test_a_run_evaluated_on_its_splits_separately_merges_whole() -> None:
    """The train split evaluated once, the test split later: both are in the comparison (they
    were the first evaluation's only)."""
    merged = merge_results([results(splits=["train"]), results(splits=["test-interpolation"])], 100)
    assert [r.id for r in merged.runs] == ["run0", "run1"]
    assert sorted(merged.episodes, key=repr) == sorted(results().episodes, key=repr)
    assert merged.notes == []


def test_a_split_evaluated_twice_alike_is_taken_once_and_unlike_is_noted() -> None:
    alike = merge_results([results(), results(splits=["train"])], 100)
    assert len(alike.episodes) == len(results().episodes) and alike.notes == []
    other = results(splits=["train"])
    other.episodes = [e for r in ("run0", "run1") for e in episodes(r, ["train"], offset=0.5)]
    unlike = merge_results([results(), other], 100)
    assert unlike.episodes == results().episodes  # the first input's
    assert len(unlike.notes) == 2 and "/runs/dr-s0 (dr) on mtml/CartPole-v0 train" in unlike.notes[0]
    assert "different episodes" in unlike.notes[0]


@pytest.mark.parametrize(("name", "value"), [("steps", 2048), ("spec_hash", "edited"), ("trial_episodes", 2)])
def test_one_run_evaluated_as_two_models_is_refused(name: str, value: Any) -> None:
    later = results(splits=["test-interpolation"])
    setattr(later.runs[0], name, value)
    with pytest.raises(
        ConfigError, match=f"/runs/dr-s0 \\(dr\\) was evaluated in two of the inputs with {name}"
    ):
        merge_results([results(splits=["train"]), later], 100)


def test_runs_of_two_versions_of_a_spec_are_refused() -> None:
    """Evaluated apart, two runs trained on different task lists under one spec id: their
    splits hold other tasks under the same names (``evaluate`` refuses them together too)."""
    first, second = results(("run0",)), results(("run0",))
    second.runs[0].path, second.runs[0].spec_hash = "/runs/edited", "other-hash"
    with pytest.raises(ConfigError, match="/runs/edited and /runs/dr-s0 were trained on different tasks"):
        merge_results([first, second], 100)
