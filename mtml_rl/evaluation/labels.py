"""Method labels in results: which registered method reports under a label, and the order
reports and pictures list labels in."""

from __future__ import annotations

from mtml_rl.errors import MtmlError
from mtml_rl.methods import Method, get_method, method_names

UNKNOWN_RANK = 50
"""Report position of a label no registered method reports under (after the built-ins'
deployed methods, before the privileged reference)."""


def method_for_label(label: str) -> Method | None:
    """The registered method that reports under ``label`` (``None`` if none here does)."""
    for name in method_names():
        try:
            method = get_method(name)
        except MtmlError:  # a broken plug-in must not stop reports of other methods
            continue
        if method.report_label == label:
            return method
    return None


def label_rank(label: str) -> tuple[int, str]:
    """Sort key of labels: by their method's ``report_order`` (the method under study leading,
    the privileged reference last), labels of unknown methods after the deployed built-ins."""
    method = method_for_label(label)
    return (method.report_order if method is not None else UNKNOWN_RANK, label)
