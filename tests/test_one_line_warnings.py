"""The CLI and the scripts show mtml-rl's own warnings in one line, ``PROGRAM: warning: ...``,
and every other warning as Python does."""

from __future__ import annotations

import warnings

import pytest

from mtml_rl.errors import MtmlWarning, exit_status


def warn(category: type[Warning]) -> None:
    warnings.warn(f"a {category.__name__}", category, stacklevel=2)


def test_a_warning_of_mtml_rl_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    shown = warnings.showwarning
    assert exit_status("prog", lambda: warn(MtmlWarning)) == 0
    assert capsys.readouterr().err == "prog: warning: a MtmlWarning\n"
    assert warnings.showwarning is shown  # restored


def test_other_warnings_go_where_python_sends_them(capsys: pytest.CaptureFixture[str]) -> None:
    """To the ``showwarning`` in place before (here pytest's recorder), not in one line."""
    with pytest.warns(RuntimeWarning, match="a RuntimeWarning"):
        assert exit_status("prog", lambda: warn(RuntimeWarning)) == 0
    assert "prog: warning" not in capsys.readouterr().err


def test_filters_still_apply(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=MtmlWarning)
        assert exit_status("prog", lambda: warn(MtmlWarning)) == 0
    assert capsys.readouterr().err == ""
