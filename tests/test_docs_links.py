"""Every relative link of the README, the CHANGELOG and ``docs/`` leads somewhere: the file
or folder exists, and an anchor into a Markdown file names one of its headings (GitHub's
heading ids, as markdown-it-py's anchors plugin computes them). Results move between these
pages as they are rerun; a link left pointing at a section that moved fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
"""A link with a scheme (``https:``, ``mailto:``): not checked here (no network in tests)."""


def parser() -> MarkdownIt:
    """CommonMark with tables (links inside tables count) and GitHub's heading ids."""
    return MarkdownIt("commonmark").enable("table").use(anchors_plugin, max_level=6)


@cache
def tokens(page: Path) -> tuple[Token, ...]:
    return tuple(parser().parse(page.read_text(encoding="utf-8")))


@cache
def heading_ids(page: Path) -> frozenset[str]:
    return frozenset(str(t.attrs["id"]) for t in tokens(page) if t.type == "heading_open" and "id" in t.attrs)


def links(page: Path) -> Iterator[str]:
    """The targets of every link and image of ``page`` (code spans and blocks excluded)."""
    for token in tokens(page):
        for child in token.children or ():
            if child.type == "link_open":
                yield str(child.attrs["href"])
            elif child.type == "image":
                yield str(child.attrs["src"])


def broken(page: Path, link: str) -> str | None:
    """Why ``link`` of ``page`` leads nowhere (``None``: it leads somewhere)."""
    path, _, anchor = link.partition("#")
    target = (page.parent / path).resolve() if path else page
    shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
    if not target.exists():
        return f"{shown} does not exist"
    if anchor and target.suffix == ".md" and anchor not in heading_ids(target):
        return f"{shown} has no heading with the id {anchor!r}"
    return None


def test_the_pages_are_found() -> None:
    assert (ROOT / "docs" / "architecture.md") in PAGES and len(PAGES) > 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    problems = [
        f"{link}: {why}"
        for link in links(page)
        if not EXTERNAL.match(link) and (why := broken(page, link)) is not None
    ]
    assert not problems, f"{page.relative_to(ROOT)} links nowhere:\n" + "\n".join(problems)


def test_a_broken_link_and_a_missing_heading_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## A `code` heading, with punctuation!\n")
    page.write_text(
        "# Page\n\n[ok](other.md#a-code-heading-with-punctuation) [self](#page)\n"
        "| a | b |\n|---|---|\n| [gone](missing.md) | [no heading](other.md#nowhere) |\n\n"
        "`[not a link](missing.md)`\n\n![picture](figures/x.png)\n[web](https://example.org/x#y)\n"
    )
    found = list(links(page))
    assert found.count("missing.md") == 1  # the table's link; the code span's is no link
    problems = {link: broken(page, link) for link in found if not EXTERNAL.match(link)}
    assert problems["other.md#a-code-heading-with-punctuation"] is None and problems["#page"] is None
    assert all("does not exist" in str(problems[link]) for link in ("missing.md", "figures/x.png"))
    assert "no heading with the id 'nowhere'" in str(problems["other.md#nowhere"])
    assert EXTERNAL.match("https://example.org/x#y")
