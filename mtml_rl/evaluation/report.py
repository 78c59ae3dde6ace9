"""``report.md``: the protocol, the tables and the pictures (relative links), GitHub-readable."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mtml_rl.evaluation.analysis import label_rank
from mtml_rl.evaluation.gaps import NO_GAP_MARGIN, SOLVED_SPLITS, GapRow, gap_rows, oracle_below_solved
from mtml_rl.evaluation.labels import method_for_label
from mtml_rl.evaluation.references import documented_references, documented_solved_levels
from mtml_rl.evaluation.results import Interval, Results, RunRecord
from mtml_rl.evaluation.success import ALL

PICTURE_SECTIONS = (
    ("success-", "Success rates"),
    ("intervals-", "Aggregate intervals"),
    ("profiles-", "Performance profiles"),
    ("adaptation-steps-", "Adaptation within an episode"),
    ("adaptation-episodes-", "Adaptation across the episodes of a trial"),
    ("latent-error-", "Latent error of the adaptation module"),
    ("heatmap-", "Generalization heat maps"),
    ("learning-", "Learning curves"),
)


def _ci(value: Interval) -> str:
    return f"{value.point:.3f} [{value.low:.3f}, {value.high:.3f}]"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]


def _cell(text: str) -> str:
    """``text`` as one cell of a Markdown table: a ``|`` (a run folder may have one in its
    name) escaped, which would otherwise end the cell and shift the rest of the row."""
    return text.replace("|", "\\|")


def _protocol(results: Results) -> list[str]:
    p = results.protocol
    trials = sorted({r.trial_episodes for r in results.runs})
    return [
        "## Protocol",
        "",
        f"- **Episodes per task:** {p.episodes}, in trials of {', '.join(map(str, trials))} episode(s) "
        "(the task, and an adapting agent's memory, carry over the episodes of a trial).",
        f"- **Seeds:** task *i* of a split is reset with seed {p.seed} + *i*; its episodes continue that "
        "stream, so each starts from a distinct state. The random baseline plays the same tasks and seeds.",
        f"- **Actions:** {'deterministic' if p.deterministic else 'sampled (stochastic)'}.",
        "- **Context:** withheld from every deployed method; the oracle reads the true context and is "
        f"reported as the privileged reference ({_privileged_labels(results)}).{_task_id_note(results)}",
        f"- **Splits:** {', '.join(p.splits)}.",
        _kernels_note(results),
        "- **Normalized score:** (R − R_random) / (R_reference − R_random) per task; R_reference is the "
        "oracle's mean return on the task when an oracle run is evaluated alongside, else the family's "
        f"documented value; gaps below {p.gap_floor} × max(|R_random|, |R_reference|, 1) are floored.",
        f"- **Aggregates:** IQM, mean, median and optimality gap over runs × tasks with "
        f"{int(p.confidence * 100)}% stratified bootstrap intervals ({p.bootstrap_reps} replications, "
        "rliable); probability of improvement between methods (rliable).",
        "",
    ]


def _kernels_note(results: Results) -> str:
    """Which CPU kernels the runs were trained with: the convolutional history encoder and
    LSTMs round differently under kernels of different width (docs/benchmark.md)."""
    groups: dict[str, list[str]] = {}
    for run in results.runs:
        groups.setdefault(run.cpu_kernels or "not recorded", []).append(run.id)
    if len(groups) == 1:
        return f"- **CPU kernels (training):** {next(iter(groups))}, every run."
    listed = "; ".join(f"{kernels}: {', '.join(ids)}" for kernels, ids in sorted(groups.items()))
    return (
        f"- **CPU kernels (training):** differ between runs ({listed}); convolutions and LSTMs "
        "round differently under each, so such runs repeat only under the kernels they were "
        "trained with."
    )


def _task_id_note(results: Results) -> str:
    """A sentence naming the multi-task methods evaluated here, which are given the task id."""
    labels = sorted(
        {r.label for r in results.runs if (m := method_for_label(r.label)) is not None and m.needs_task_id}
    )
    if not labels:
        return ""
    return (
        f" The multi-task methods ({', '.join(labels)}) are given the task id (the one-hot of the "
        "categorical parameters, e.g. the environment) and nothing else of the task."
    )


def _privileged_labels(results: Results) -> str:
    labels = sorted({r.label for r in results.runs if r.privileged})
    return ", ".join(labels) if labels else "none evaluated here"


def _mean_returns(results: Results) -> dict[tuple[str, str], float]:
    """Each run's mean return over its episodes of each split."""
    returns: dict[tuple[str, str], list[float]] = {}
    for row in results.episodes:
        returns.setdefault((row.run, row.split), []).append(row.ret)
    return {key: float(np.mean(values)) for key, values in returns.items()}


def _steps(run: RunRecord) -> str:
    """Training steps, and those the deployed method trains on each test task (``finetune``)."""
    steps = str(run.steps)
    return steps + (f" + {run.test_task_steps} on each test task" if run.test_task_steps else "")


def _runs(results: Results) -> list[str]:
    means = _mean_returns(results)
    splits = list(results.protocol.splits)
    rows = [
        [
            r.id,
            r.label,
            r.method,
            r.algo,
            str(r.seed),
            r.spec,
            _steps(r),
            str(r.trial_episodes),
            " / ".join(f"{means[(r.id, split)]:.1f}" if (r.id, split) in means else "–" for split in splits),
            f"`{r.path}`",
        ]
        for r in sorted(results.runs, key=lambda r: (r.spec, label_rank(r.label), r.seed))
    ]
    header = ["run", "label", "method", "algo", "seed", "spec", "steps", "trial", "mean return", "path"]
    note = f"(Mean return: over the run's episodes of each split, in the order {', '.join(splits)}.)"
    return ["## Runs", "", *_table(header, rows), "", note, ""]


def _scores(results: Results, spec: str, split: str) -> list[str]:
    rows = [
        [
            a.label,
            str(a.runs),
            str(a.tasks),
            _ci(a.iqm),
            _ci(a.mean),
            _ci(a.median),
            _ci(a.optimality_gap),
            _num(a.mean_return),
            _num(a.success_rate),
        ]
        for a in sorted(results.aggregates, key=lambda a: label_rank(a.label))
        if (a.spec, a.split) == (spec, split)
    ]
    header = ["method", "runs", "tasks", "IQM", "mean", "median", "optimality gap", "mean return", "success"]
    out = _table(header, rows) if rows else ["No normalized scores (no reference return, see the notes)."]
    if rows and min(int(r[1]) for r in rows) < 2:
        out += ["", "_A method with one run has no seed variance to resample: its interval is a point._"]
    improvements = [i for i in results.improvements if (i.spec, i.split) == (spec, split)]
    if improvements:
        out += [
            "",
            *_table(["X", "Y", "P(X > Y) [95% CI]"], [[i.x, i.y, _ci(i.probability)] for i in improvements]),
        ]
    return out


def _references(results: Results, spec: str, split: str) -> list[str]:
    tasks = [t for t in results.tasks if (t.spec, t.split) == (spec, split)]
    sources = sorted({str(t.reference_source) for t in tasks})
    refs = [t.reference_return for t in tasks if t.reference_return is not None]
    return [
        f"References: {len(tasks)} tasks, mean R_random {np.mean([t.random_return for t in tasks]):.2f}, "
        f"mean R_reference {_num(float(np.mean(refs)) if refs else None)} (source: {', '.join(sources)}; "
        f"{sum(t.gap_floored for t in tasks)} gap(s) floored)."
    ]


def _score_sections(results: Results) -> list[str]:
    groups: dict[str, list[str]] = defaultdict(list)
    for t in results.tasks:
        if t.split not in groups[t.spec]:
            groups[t.spec].append(t.split)
    out = []
    for spec, splits in sorted(groups.items()):
        out += [f"## Scores: {spec}", ""]
        if results.headlines.get(spec) == "success":
            out += ["Headline metric: the success rate (then the normalized return).", ""]
        for split in [s for s in results.protocol.splits if s in splits]:
            normalized = [*_scores(results, spec, split), "", *_references(results, spec, split), ""]
            success = _success(results, spec, split)
            if results.headlines.get(spec) == "success":
                out += [f"### {split}", "", *success, "#### Normalized return", "", *normalized]
            else:
                out += [f"### {split}", "", *normalized, *success]
    return out


SUCCESS_TITLE = "Success rate (an episode succeeds if the family's success flag is set at any step)"


def _success(results: Results, spec: str, split: str) -> list[str]:
    """The success-rate aggregates of a split, and per group of tasks (per environment)."""
    rows = [a for a in results.success if (a.spec, a.split) == (spec, split)]
    overall = sorted((a for a in rows if a.group == ALL), key=lambda a: label_rank(a.label))
    if not overall:
        return []
    table = [[a.label, str(a.runs), str(a.tasks), _ci(a.iqm), _ci(a.mean)] for a in overall]
    out = [f"#### {SUCCESS_TITLE}", "", *_table(["method", "runs", "tasks", "IQM", "mean"], table), ""]
    groups = list(dict.fromkeys(a.group for a in rows if a.group != ALL))
    if not groups:
        return out
    labels = [a.label for a in overall]
    cells = {(a.group, a.label): a for a in rows}
    header = [groups[0].split("=", 1)[0] if "=" in groups[0] else "group", *labels]
    body = [
        [
            g.split("=", 1)[-1],
            *[_ci(cells[(g, label)].mean) if (g, label) in cells else "n/a" for label in labels],
        ]
        for g in groups
    ]
    return [*out, "Mean success rate per group of tasks [95% CI]:", "", *_table(header, body), ""]


def _pictures(results: Results) -> list[str]:
    out = []
    for prefix, title in PICTURE_SECTIONS:
        chosen = [p for p in results.pictures if p.split("/")[-1].startswith(prefix)]
        if chosen:
            out += [f"## {title}", ""]
            out += [f"![{title}: {p.split('/')[-1][:-4]}]({p})\n" for p in chosen]
    return out


def _family_notes() -> list[str]:
    rows = [[name, ref.reason] for name, ref in sorted(documented_references().items())]
    return ["## Documented family references", "", *_table(["family", "reference return"], rows), ""]


GAP_INTRO = (
    "Share of the gap between the context-blind method ({blind}) and the privileged reference "
    "({privileged}) that each method closes, in mean raw return: (R − R_{blind}) / "
    "(R_{privileged} − R_{blind}); 0% is {blind}'s return, 100% the oracle's. A split is marked "
    "**no meaningful gap** where {blind}'s normalized mean is within {margin} of the oracle's or its "
    "interval reaches it, and **oracle below solved** where the oracle's mean return falls short of "
    "its family's solved level ({solved_splits})."
)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{round(100 * value):d}%"  # round: never "-0%"


def _gap_caveats(row: GapRow, below: set[tuple[str, str]]) -> str:
    marks = [] if row.meaningful else ["**no meaningful gap**"]
    if (row.spec, row.split) in below:
        marks.append("**oracle below solved**")
    return ", ".join(marks) or "–"


def _gap_section(results: Results) -> list[str]:
    """Per spec: the blind-to-privileged gap per split and the share of it each method closes."""
    rows = gap_rows(results)
    if not rows:
        return []
    below = {(b.spec, b.split) for b in oracle_below_solved(results)}
    first = rows[0]
    intro = GAP_INTRO.format(
        blind=first.blind.label,
        privileged=first.privileged.label,
        margin=NO_GAP_MARGIN,
        solved_splits=", ".join(SOLVED_SPLITS),
    )
    out = ["## Share of the gap closed", "", intro, ""]
    for spec in dict.fromkeys(r.spec for r in rows):
        mine = [r for r in rows if r.spec == spec]
        labels = list(dict.fromkeys(label for r in mine for label in r.shares))
        header = ["split", mine[0].blind.label, mine[0].privileged.label, "gap", *labels, "caveats"]
        body = [
            [
                r.split,
                f"{r.blind.mean_return:.1f}",
                f"{r.privileged.mean_return:.1f}",
                f"{r.gap:+.1f}",
                *[_share(r.shares.get(label)) for label in labels],
                _gap_caveats(r, below),
            ]
            for r in mine
        ]
        out += [f"### {spec}", "", *_table(header, body), ""]
    return out


def _solved_notes(results: Results) -> list[str]:
    if not any(t.solved_return is not None for t in results.tasks):
        return []
    rows = [[name, level.reason] for name, level in sorted(documented_solved_levels().items())]
    return ["## Documented solved levels", "", *_table(["family", "solved level"], rows), ""]


def render(results: Results, title: str) -> str:
    """The report's Markdown."""
    lines = [f"# {title}", "", "Written by `mtml-rl`; the data are in `results.json` and `results.csv`.", ""]
    lines += _protocol(results) + _runs(results) + _gap_section(results) + _score_sections(results)
    lines += _pictures(results)
    if results.videos:
        lines += ["## Videos", "", *[f"- [{v.split('/')[-1]}]({v})" for v in results.videos], ""]
    if results.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in results.notes], ""]
    if any(t.reference_source == "family" for t in results.tasks):
        lines += _family_notes()
    lines += _solved_notes(results)
    return "\n".join(lines).rstrip() + "\n"
