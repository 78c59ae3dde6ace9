"""Every file a script of ``scripts/`` writes is written whole (:mod:`mtml_rl.io`'s atomic
writers): a script killed while writing leaves the old file or the new one, never half of one.
``reproduce.py`` wrote its results table (the README's source) in place, ``solved_budgets.py``,
``posture.py`` and ``compare_adaptation_archs.py`` their ``--json``, ``make_metaworld_specs.py``
the shipped spec files, ``steps_to_transfer.py`` its figure."""

from __future__ import annotations

import re

from script_loading import SCRIPTS

IN_PLACE_WRITE = re.compile(r"\.write_(text|bytes)\(|\bopen\([^)]*[\"'][wx]b?\+?[\"']|\.savefig\((?!tmp)")
"""A file written in place: ``Path.write_text``/``write_bytes``, ``open`` for writing, a figure
saved straight to its path."""
APPEND_LOGS = {"bench_adaptation.py"}
"""Scripts that append results to a JSON-lines log as they come, whose ``--load`` leaves out a
last line cut short."""


def test_no_script_writes_a_file_in_place() -> None:
    in_place = [path.name for path in sorted(SCRIPTS.glob("*.py")) if IN_PLACE_WRITE.search(path.read_text())]
    assert in_place == []


def test_the_append_logs_are_appended_only() -> None:
    for name in APPEND_LOGS:
        assert re.search(r"\bopen\([^)]*\"a\"[,)]", (SCRIPTS / name).read_text())
