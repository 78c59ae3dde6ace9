"""Every table of ``report.md`` keeps its columns whatever a cell holds: a run folder named
``runs/a|b`` (a legal name) ended the path cell at its ``|`` and shifted the row."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from synthetic import synthetic_results

from mtml_rl.evaluation.report import render
from mtml_rl.specs.spec import resolve_spec


def _tables(markdown: str) -> list[list[list[str]]]:
    """Each table of ``markdown`` as rows of cell texts, as a Markdown renderer reads them."""
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open") and row is not None:
            row.append("")
        elif token.type == "inline" and row:
            row[-1] += token.content
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
    return tables


def test_a_pipe_in_a_run_path_stays_in_its_cell() -> None:
    results = synthetic_results(
        resolve_spec("mtml/CartPole-v0"),
        {"dr": 100.0, "oracle": 490.0},
        random_return=20.0,
        root=Path("/runs/a|b"),
    )
    tables = _tables(render(results, "t"))
    assert tables
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table), table
    paths = [row[-1] for table in tables if table[0][-1] == "path" for row in table[1:]]
    assert paths and all(path.strip("`").startswith("/runs/a|b/") for path in paths)
