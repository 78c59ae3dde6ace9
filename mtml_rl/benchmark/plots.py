"""Pictures of a benchmark comparison (matplotlib, PNG): scores with intervals, learning curves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtml_rl.benchmark.interim import ScoreRow

RETURN_COLUMN = "rollout/ep_rew_mean"
STEP_COLUMN = "time/total_timesteps"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def score_plot(rows: Sequence[ScoreRow], folder: Path) -> list[str]:
    """One PNG per spec: IQM normalized score with its interval per method and split."""
    plt = _pyplot()
    names = []
    for spec in dict.fromkeys(r.spec for r in rows):
        cells = [r for r in rows if r.spec == spec and r.iqm is not None]
        if not cells:
            continue
        splits = list(dict.fromkeys(r.split for r in cells))
        methods = list(dict.fromkeys(r.method for r in cells))
        fig, axes = plt.subplots(
            1, len(splits), figsize=(3.2 * len(splits), 0.5 * len(methods) + 1.6), squeeze=False
        )
        for ax, split in zip(axes[0], splits, strict=True):
            for y, method in enumerate(methods):
                row = next((r for r in cells if (r.method, r.split) == (method, split)), None)
                if row is None or row.low is None or row.high is None or row.iqm is None:
                    continue
                ax.plot([row.low, row.high], [y, y], color=f"C{y}", linewidth=6, alpha=0.5)
                ax.plot([row.iqm], [y], "|", color="black", markersize=14)
            ax.set_yticks(range(len(methods)), methods if ax is axes[0][0] else [""] * len(methods))
            ax.set_title(split)
            ax.set_xlabel("IQM normalized score")
            ax.grid(axis="x", alpha=0.3)
        fig.suptitle(f"{spec}: normalized score (95% CI)")
        fig.tight_layout()
        name = f"scores_{spec}.png"
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        names.append(name)
    return names


def _curve(run_dir: str) -> pd.DataFrame | None:
    path = Path(run_dir) / "logs" / "progress.csv"
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    if RETURN_COLUMN not in frame or STEP_COLUMN not in frame:
        return None
    return frame[[STEP_COLUMN, RETURN_COLUMN]].dropna()


def learning_curves(summaries: Sequence[dict[str, Any]], folder: Path) -> list[str]:
    """One PNG per spec: training return against steps, mean over seeds per method."""
    plt = _pyplot()
    by_spec: dict[str, dict[str, list[pd.DataFrame]]] = defaultdict(lambda: defaultdict(list))
    for summary in summaries:
        curve = _curve(summary["run_dir"])
        if curve is not None and len(curve):
            by_spec[summary["spec"]][summary["method"]].append(curve)
    names = []
    for spec, methods in by_spec.items():
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for i, (method, curves) in enumerate(methods.items()):
            grid = np.linspace(0, min(c[STEP_COLUMN].max() for c in curves), 50)
            ys = np.array([np.interp(grid, c[STEP_COLUMN], c[RETURN_COLUMN]) for c in curves])
            ax.plot(grid, ys.mean(axis=0), color=f"C{i}", label=f"{method} ({len(curves)} seeds)")
            if len(curves) > 1:
                ax.fill_between(grid, ys.min(axis=0), ys.max(axis=0), color=f"C{i}", alpha=0.2)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("training episode return")
        ax.set_title(f"{spec}: learning curves (train split)")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        name = f"learning_{spec}.png"
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        names.append(name)
    return names
