"""Tables of a benchmark comparison: markdown for reports and the README, rich for terminals."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from mtml_rl.benchmark.evaluation import ScoreRow
from mtml_rl.errors import MtmlError
from mtml_rl.evaluation.gaps import share_of_gap
from mtml_rl.evaluation.results import Interval, SuccessAggregate
from mtml_rl.evaluation.success import ALL
from mtml_rl.methods import get_method

SPLIT_LABELS = {
    "train": "train",
    "test-interpolation": "interpolation",
    "test-extrapolation": "extrapolation",
    "test-combinatorial": "combinatorial",
}


def _splits(rows: Sequence[ScoreRow]) -> list[str]:
    return list(dict.fromkeys(r.split for r in rows))


def _methods(rows: Sequence[ScoreRow]) -> list[str]:
    return list(dict.fromkeys(r.method for r in rows))


def format_score(row: ScoreRow | None, *, returns: bool = True) -> str:
    """``0.72 [0.61, 0.83] (R 224.0)``: IQM normalized score, interval and mean return."""
    if row is None:
        return "–"
    ret = f"R {row.mean_return:.1f}"
    if row.iqm is None or row.low is None or row.high is None:
        return ret
    text = f"{row.iqm:.2f} [{row.low:.2f}, {row.high:.2f}]"
    return f"{text} ({ret})" if returns else text


def _cell(rows: Sequence[ScoreRow], spec: str, method: str, split: str) -> ScoreRow | None:
    return next((r for r in rows if (r.spec, r.method, r.split) == (spec, method, split)), None)


def scores_markdown(rows: Sequence[ScoreRow]) -> str:
    """One markdown table: a row per (spec, method), a column per split."""
    splits = _splits(rows)
    header = "| spec | method | " + " | ".join(SPLIT_LABELS.get(s, s) for s in splits) + " |"
    lines = [header, "|" + "---|" * (len(splits) + 2)]
    for spec in dict.fromkeys(r.spec for r in rows):
        for method in _methods([r for r in rows if r.spec == spec]):
            cells = [format_score(_cell(rows, spec, method, s)) for s in splits]
            lines.append(f"| {spec} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gap_share(method: ScoreRow, dr: ScoreRow, oracle: ScoreRow) -> float | None:
    """The share of the ``dr``-to-``oracle`` gap in mean return that ``method`` closes.

    ``(R_method - R_dr) / (R_oracle - R_dr)``: 0 is ``dr``'s return, 1 the oracle's; below 0
    is worse than ``dr``, above 1 better than the oracle. ``None`` where the oracle does not
    beat ``dr`` (no gap to close).
    """
    return share_of_gap(method.mean_return, dr.mean_return, oracle.mean_return)


def gap_ends(methods: Sequence[str]) -> tuple[str, str] | None:
    """The methods standing for the gap's ends among ``methods``: the context-blind one and the
    privileged one (their method objects' ``gap_end``); ``None`` unless both are there."""
    ends: dict[str, str] = {}
    for name in methods:
        try:
            end = get_method(name).gap_end
        except MtmlError:  # a method not registered in this process
            continue
        if end is not None:
            ends.setdefault(end, name)
    if "blind" in ends and "privileged" in ends:
        return ends["blind"], ends["privileged"]
    return None


def gap_markdown(rows: Sequence[ScoreRow]) -> str:
    """The blind-to-privileged gap (``dr`` to ``oracle``) per family and split, in mean return,
    and the share of it each other method closes (:func:`gap_share`); empty without both ends."""
    ends = gap_ends(_methods(rows))
    if ends is None:
        return ""
    blind, privileged = ends
    others = [m for m in _methods(rows) if m not in ends]
    header = f"| spec | split | {blind} | {privileged} | gap ({privileged} − {blind}) |" + "".join(
        f" {m} closes |" for m in others
    )
    lines = [header, "|" + "---|" * (5 + len(others))]
    found = False
    for spec in dict.fromkeys(r.spec for r in rows):
        for split in _splits(rows):
            low, high = _cell(rows, spec, blind, split), _cell(rows, spec, privileged, split)
            if low is None or high is None:
                continue
            found = True
            shares = [_share_text(_cell(rows, spec, m, split), low, high) for m in others]
            lines.append(
                f"| {spec} | {SPLIT_LABELS.get(split, split)} | {low.mean_return:.1f} | "
                f"{high.mean_return:.1f} | {high.mean_return - low.mean_return:+.1f} |"
                + "".join(f" {text} |" for text in shares)
            )
    return "\n".join(lines) if found else ""


def _share_text(method: ScoreRow | None, dr: ScoreRow, oracle: ScoreRow) -> str:
    share = gap_share(method, dr, oracle) if method is not None else None
    return "–" if share is None else f"{round(100 * share):d}%"  # round: never "-0%"


def _rate(value: Interval | None) -> str:
    return "–" if value is None else f"{value.point:.3f} [{value.low:.3f}, {value.high:.3f}]"


def success_markdown(aggregates: Sequence[SuccessAggregate]) -> str:
    """Success rates of a comparison: one table of every (spec, method) over its splits (mean
    success rate over runs × tasks [95% bootstrap interval]), then, for each split whose tasks
    form groups (Meta-World's environments in MT10 and ML10), the mean per group and method.
    Empty where no family of the comparison defines success."""
    overall = [a for a in aggregates if a.group == ALL]
    if not overall:
        return ""
    splits = list(dict.fromkeys(a.split for a in overall))
    cells = {(a.spec, a.label, a.split, a.group): a.mean for a in aggregates}
    header = "| spec | method | " + " | ".join(SPLIT_LABELS.get(s, s) for s in splits) + " |"
    lines = [header, "|" + "---|" * (len(splits) + 2)]
    for spec in dict.fromkeys(a.spec for a in overall):
        for label in dict.fromkeys(a.label for a in overall if a.spec == spec):
            row = [_rate(cells.get((spec, label, split, ALL))) for split in splits]
            lines.append(f"| {spec} | {label} | " + " | ".join(row) + " |")
    for spec, split in dict.fromkeys((a.spec, a.split) for a in aggregates if a.group != ALL):
        lines += ["", *_group_table([a for a in aggregates if (a.spec, a.split) == (spec, split)])]
    return "\n".join(lines)


def _group_table(aggregates: Sequence[SuccessAggregate]) -> list[str]:
    """The mean success rate per group of tasks (rows) and method (columns) of one split."""
    spec, split = aggregates[0].spec, aggregates[0].split
    labels = list(dict.fromkeys(a.label for a in aggregates))
    groups = list(dict.fromkeys(a.group for a in aggregates if a.group != ALL))
    name = groups[0].split("=", 1)[0] if "=" in groups[0] else "group"
    cells = {(a.group, a.label): a.mean for a in aggregates}
    lines = [
        f"{spec}, {SPLIT_LABELS.get(split, split)}: mean success rate per {name} [95% interval]",
        "",
        f"| {name} | " + " | ".join(labels) + " |",
        "|" + "---|" * (len(labels) + 1),
    ]
    for group in groups:
        row = [_rate(cells.get((group, label))) for label in labels]
        lines.append(f"| {group.split('=', 1)[-1]} | " + " | ".join(row) + " |")
    lines.append("| overall | " + " | ".join(_rate(cells.get((ALL, label))) for label in labels) + " |")
    return lines


def report_markdown(title: str, rows: Sequence[ScoreRow], pictures: Sequence[str]) -> str:
    """The report: scores with intervals, the gap table, and the pictures."""
    parts = [
        f"# {title}",
        "",
        "Normalized score per task: (R − R_random(task)) / (R_oracle − R_random), with R_oracle the "
        "mean return of the oracle runs and R_random that of a uniformly random policy over the "
        "split's tasks (the oracle scores 1 on average). Cells: "
        "IQM over runs × tasks [95% bootstrap interval] (mean raw return). Deployed methods act "
        "without the true context; the oracle reads it (the upper bound).",
        "",
        scores_markdown(rows),
        "",
    ]
    gaps = gap_markdown(rows)
    if gaps:
        parts += ["## The dr-to-oracle gap per family", "", gaps, ""]
    if pictures:
        parts += ["## Pictures", ""] + [f"![{p}]({p})" for p in pictures] + [""]
    return "\n".join(parts)


def scores_rich(rows: Sequence[ScoreRow], title: str) -> Table:
    """The scores table for a terminal: a row per (spec, method), a column per split."""
    table = Table(title=title)
    splits = _splits(rows)
    specs = list(dict.fromkeys(r.spec for r in rows))
    if len(specs) > 1:
        table.add_column("spec")
    table.add_column("method")
    for split in splits:
        table.add_column(f"{SPLIT_LABELS.get(split, split)}\nIQM [95% CI] (return)", justify="right")
    for spec in specs:
        for method in _methods([r for r in rows if r.spec == spec]):
            cells = [format_score(_cell(rows, spec, method, s)) for s in splits]
            table.add_row(*([spec] if len(specs) > 1 else []), method, *cells)
    return table
