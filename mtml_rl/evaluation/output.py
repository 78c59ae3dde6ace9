"""Writing an evaluation's outputs into its (temporary) folder."""

from __future__ import annotations

from pathlib import Path

from mtml_rl.errors import ConfigError
from mtml_rl.evaluation import report
from mtml_rl.evaluation.results import Results, check_finite, csv_text, validate
from mtml_rl.evaluation.video import VIDEOS
from mtml_rl.io import atomic_write_json, atomic_write_text

RESULTS_FILE = "results.json"
CSV_FILE = "results.csv"
REPORT_FILE = "report.md"
FIGURES = "figures"


EVALUATION_OUTPUTS = frozenset({RESULTS_FILE, CSV_FILE, REPORT_FILE, FIGURES, VIDEOS})
"""What an evaluation writes into its folder: all that replacing an earlier one may delete."""


def check_output_dir(path: Path, named: str = "--out", elsewhere: str = "choose another folder") -> None:
    """Refuse an output folder that exists and is not an earlier evaluation (that is replaced
    whole), or that holds files besides the evaluation's (they would be deleted with it).

    :param named: what the messages call the folder (the flag that gave it, or its role)
    :param elsewhere: how to write the evaluation elsewhere instead
    """
    if not path.exists():
        return
    if not path.is_dir():
        raise ConfigError(f"{named} {path} is a file; move it, or {elsewhere}")
    if any(path.iterdir()) and not (path / RESULTS_FILE).is_file():
        raise ConfigError(
            f"{named} {path} exists, is not empty and holds no evaluation; move it, or {elsewhere}"
        )
    foreign = sorted(p.name for p in path.iterdir() if p.name not in EVALUATION_OUTPUTS)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{named} {path} holds an earlier evaluation and files it did not write ({shown}), which "
            f"replacing it would delete; move them out of it, or {elsewhere}"
        )


def write_outputs(results: Results, folder: Path, title: str, *, figures: bool = True) -> None:
    """Pictures (unless ``figures`` is false), ``results.json`` (validated against its schema
    first), ``results.csv`` and ``report.md`` into ``folder``; results holding NaN or
    infinities are refused first."""
    check_finite(results.to_json(), RESULTS_FILE)
    results.pictures = []
    if figures:
        from mtml_rl.evaluation import plots  # matplotlib is imported only to draw

        results.pictures = plots.make_pictures(results, folder, FIGURES)
    document = results.to_json()
    validate(document, RESULTS_FILE)
    atomic_write_json(folder / RESULTS_FILE, document)
    atomic_write_text(folder / CSV_FILE, csv_text(results))
    atomic_write_text(folder / REPORT_FILE, report.render(results, title))
