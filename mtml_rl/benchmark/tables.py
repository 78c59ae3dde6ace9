"""Tables of a benchmark comparison: markdown for reports and the README, rich for terminals."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from mtml_rl.benchmark.evaluation import ScoreRow

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


def gap_markdown(rows: Sequence[ScoreRow]) -> str:
    """The ``dr``-to-``oracle`` gap per family and split, in mean return (empty without both)."""
    lines = ["| spec | split | dr | oracle | gap (oracle − dr) |", "|---|---|---|---|---|"]
    found = False
    for spec in dict.fromkeys(r.spec for r in rows):
        for split in _splits(rows):
            dr, oracle = _cell(rows, spec, "dr", split), _cell(rows, spec, "oracle", split)
            if dr is None or oracle is None:
                continue
            found = True
            gap = oracle.mean_return - dr.mean_return
            lines.append(
                f"| {spec} | {SPLIT_LABELS.get(split, split)} | {dr.mean_return:.1f} | "
                f"{oracle.mean_return:.1f} | {gap:+.1f} |"
            )
    return "\n".join(lines) if found else ""


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
