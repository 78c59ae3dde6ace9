"""Success rates on synthetic results with known answers: rliable aggregates over every task and
per environment, the report's tables, the headline, and the JSON round trip."""

from __future__ import annotations

import json

import pytest

from mtml_rl.evaluation.analysis import analyze
from mtml_rl.evaluation.merge import merge_results
from mtml_rl.evaluation.report import render
from mtml_rl.evaluation.results import (
    EpisodeRow,
    Protocol,
    Results,
    RunRecord,
    TaskRecord,
    results_from_json,
    validate,
)

ENVS = ("reach-v3", "push-v3")
"""Two environments, two tasks each; dr succeeds on every reach task, never on push."""


def _results(headline: str = "success") -> Results:
    runs = [
        RunRecord(f"run{k}", f"/r{k}", label, label, "ppo", seed, "S", "h", {}, False, 1, 100)
        for k, (label, seed) in enumerate([("dr", 0), ("dr", 1), ("history", 0), ("history", 1)])
    ]
    tasks = [
        TaskRecord("S", "train", f"{env}-{j}", {"env": env, "goal_obs": "hidden", "goal_x": 0.1 * j}, 0.0)
        for env in ENVS
        for j in range(2)
    ]
    episodes = []
    for run in runs:
        for t in tasks:
            for e in range(4):  # history: reach always, push in half of the episodes
                ok = t.params["env"] == "reach-v3" or (run.label == "history" and e % 2 == 0)
                episodes.append(EpisodeRow(run.id, "S", "train", t.task_id, e, 0, e, 1.0, 500, ok))
    protocol = Protocol(4, 0, True, ["train"], bootstrap_reps=200)
    return analyze(Results(protocol, runs, tasks, episodes, headlines={"S": headline}))


def _success(results: Results, label: str, group: str) -> tuple[float, float]:
    found = [a for a in results.success if (a.label, a.group) == (label, group)]
    assert len(found) == 1
    return found[0].iqm.point, found[0].mean.point


def test_success_is_aggregated_over_all_tasks_and_per_environment() -> None:
    results = _results()
    assert _success(results, "dr", "all") == (pytest.approx(0.5), pytest.approx(0.5))
    assert _success(results, "history", "all")[1] == pytest.approx(0.75)
    assert _success(results, "dr", "env=reach-v3") == (1.0, 1.0)
    assert _success(results, "dr", "env=push-v3") == (0.0, 0.0)
    assert _success(results, "history", "env=push-v3")[1] == pytest.approx(0.5)
    groups = {a.group for a in results.success}
    assert groups == {"all", "env=reach-v3", "env=push-v3"}  # goal_obs never varies: no group
    assert all(a.runs == 2 for a in results.success)


def test_the_report_leads_with_success_and_shows_a_table_per_environment() -> None:
    text = render(_results(), "t")
    assert "Headline metric: the success rate" in text
    section = text[text.index("### train") :]
    assert section.index("#### Success rate") < section.index("#### Normalized return")
    assert "| env | history | dr |" in text  # in report order
    assert "| reach-v3 | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] |" in text
    assert "| push-v3 | 0.500 [0.500, 0.500] | 0.000 [0.000, 0.000] |" in text
    plain = render(_results(headline="normalized"), "t")
    assert "Headline metric" not in plain and "#### Success rate" in plain


def test_success_survives_json_and_merging() -> None:
    results = _results()
    document = json.loads(json.dumps(results.to_json()))
    validate(document)
    again = results_from_json(document)
    assert again.success == results.success and again.headlines == {"S": "success"}
    merged = analyze(merge_results([again], bootstrap_reps=200))
    assert merged.headlines == {"S": "success"}
    assert [(a.label, a.group, a.mean.point) for a in merged.success] == [
        (a.label, a.group, a.mean.point) for a in results.success
    ]


def test_no_success_aggregates_where_success_is_undefined() -> None:
    results = _results()
    for e in results.episodes:
        e.success = None
    assert analyze(results).success == []
