"""The pictures of a report (matplotlib, Agg canvas, PNG), each readable on its own.

- learning curves from the runs' ``logs/progress.csv``;
- adaptation curves: mean cumulative reward by step within an episode, mean return by
  episode within a trial, latent error ``|ẑ − z|`` by step;
- the generalization heat map of normalized return over two parameters, the train region
  drawn on it, one panel per method;
- performance profiles and aggregate interval estimates (rliable's plotting functions).

Figures are built as :class:`matplotlib.figure.Figure` objects on an Agg canvas, so making
them never touches pyplot's global state or needs a display; rliable's interval plot, which
creates its figure through pyplot, is closed as soon as it is saved.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mtml_rl.evaluation import scores
from mtml_rl.evaluation.analysis import label_rank, score_matrices
from mtml_rl.evaluation.labels import method_for_label
from mtml_rl.evaluation.results import GridResult, Results, RunRecord, cells_array
from mtml_rl.training.monitor import POST_TRAINING_RETURN, DamagedLogError, read_log_rows

SPLIT_STYLES = {
    "train": "-",
    "test-interpolation": "--",
    "test-extrapolation": ":",
    "test-combinatorial": "-.",
}
TRAIN_RETURN_COLUMNS = ("returns/train_episode_mean", "rollout/ep_rew_mean")
STEPS_COLUMN = "time/total_timesteps"
DPI = 110


def _figure(panels: int, width: float = 5.0, height: float = 3.8) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width * panels, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, list(axes)


def _save(fig: Figure, folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / name, format="png", bbox_inches="tight")
    return f"{folder.name}/{name}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")


def colors(labels: list[str]) -> dict[str, tuple[float, ...]]:
    """A fixed color per label (tab10 in report order)."""
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    ordered = sorted(set(labels), key=label_rank)
    return {label: tuple(palette(i % 10)) for i, label in enumerate(ordered)}


def make_pictures(results: Results, folder: Path, sub: str) -> list[str]:
    """Draw every picture the results support into ``folder / sub``; returns relative paths."""
    target = folder / sub
    palette = colors([r.label for r in results.runs])
    made: list[str] = []
    makers: list[Callable[[Results, Path, dict[str, tuple[float, ...]]], list[str]]] = [
        learning_curves,
        adaptation_figures,
        heat_maps,
        profile_figures,
        interval_figures,
        success_figures,
    ]
    for maker in makers:
        made += maker(results, target, palette)
    return made


# --------------------------------------------------------------------------------------------
# learning curves
# --------------------------------------------------------------------------------------------
def read_progress(run_path: Path) -> dict[str, np.ndarray]:
    """Numeric columns of a run's ``logs/progress.csv`` (empty cells as NaN); ``{}`` if absent,
    and a :class:`~mtml_rl.training.monitor.DamagedLogError` if it is not the log training writes."""
    file = run_path / "logs" / "progress.csv"
    if not file.is_file():
        return {}
    rows = read_log_rows(file)
    columns: dict[str, list[float]] = defaultdict(list)
    for row in rows[1:]:
        for key, value in zip(rows[0], [*row, *[""] * (len(rows[0]) - len(row))], strict=True):
            try:
                columns[key].append(float(value) if value != "" else np.nan)
            except ValueError:
                columns[key].append(np.nan)
    return {k: np.array(v) for k, v in columns.items()}


def _run_log(results: Results, run: RunRecord) -> dict[str, np.ndarray]:
    """The run's training log, or ``{}`` with a note in ``results`` when it is damaged (the
    run's learning curve is left out; nothing else of the evaluation depends on the log)."""
    try:
        return read_progress(Path(run.path))
    except DamagedLogError as exc:
        note = f"{exc}: its learning curve is left out"
        if note not in results.notes:
            results.notes.append(note)
        return {}


def _plot_column(ax: Axes, log: dict[str, np.ndarray], column: str, **style: Any) -> bool:
    if column not in log or STEPS_COLUMN not in log:
        return False
    x, y = log[STEPS_COLUMN], log[column]
    keep = ~np.isnan(x) & ~np.isnan(y)
    if not keep.any():
        return False
    ax.plot(x[keep], y[keep], **style)
    return True


PRIVILEGED_STYLE: dict[str, Any] = {"linewidth": 3.2, "alpha": 0.45, "zorder": 1}
"""The privileged reference's lines: wide and translucent, drawn first, so that a method whose
curve coincides with it (``adapt``'s phase 1 trains exactly as the oracle) stays visible on top."""
PHASE_ONE_DASH = (0, (4, 2))
"""The dash of a method's training curve when a post-training step follows (``adapt``'s phase 1)."""


def _run_style(run: RunRecord, palette: dict[str, tuple[float, ...]]) -> dict[str, Any]:
    base: dict[str, Any] = {"color": palette[run.label], "label": f"{run.label} s{run.seed}"}
    if run.privileged:
        return {**base, **PRIVILEGED_STYLE}
    return {**base, "linewidth": 1.3, "zorder": 2}


def _post_training(run: RunRecord) -> str:
    """The run's post-training step (``""``: none), from its method if registered here."""
    method = method_for_label(run.label)
    return method.post_training if method is not None else ""


def _training_curve(ax: Axes, run: RunRecord, log: dict[str, np.ndarray], style: dict[str, Any]) -> bool:
    """The training return; with a post-training step, phase 1 dashed and the step's own
    episodes (:data:`POST_TRAINING_RETURN`) solid with markers, each labeled as such."""
    column = next((c for c in TRAIN_RETURN_COLUMNS if c in log), "")
    step = _post_training(run)
    if not step:
        return _plot_column(ax, log, column, **style)
    phase1 = {**style, "linestyle": PHASE_ONE_DASH, "label": f"{style['label']} phase 1"}
    phase2 = {**style, "marker": "o", "markersize": 3, "label": f"{style['label']} phase 2 ({step})"}
    drawn = _plot_column(ax, log, column, **phase1)
    return _plot_column(ax, log, POST_TRAINING_RETURN, **phase2) or drawn


def learning_curves(results: Results, folder: Path, palette: dict[str, tuple[float, ...]]) -> list[str]:
    """Per spec: training return and periodic evaluation return against environment steps.

    Every run stays visible: the privileged reference is drawn wide and translucent underneath
    (:data:`PRIVILEGED_STYLE`), and a method with a post-training step shows its training phase
    dashed and the step's own episodes after it (``adapt``: phase 1 on the true context, then
    phase 2 acting with ``ẑ``).
    """
    made = []
    for spec in sorted({r.spec for r in results.runs}):
        fig = learning_figure(results, spec, palette)
        if fig is not None:
            made.append(_save(fig, folder, f"learning-{_slug(spec)}.png"))
    return made


def learning_figure(results: Results, spec: str, palette: dict[str, tuple[float, ...]]) -> Figure | None:
    """The learning curves of ``spec``'s runs (``None`` if no run logged anything)."""
    fig, (train_ax, eval_ax) = _figure(2)
    drawn = False
    runs = [r for r in results.runs if r.spec == spec]
    for run in sorted(runs, key=lambda r: (not r.privileged, label_rank(r.label), r.seed)):
        log = _run_log(results, run)
        style = _run_style(run, palette)
        drawn |= _training_curve(train_ax, run, log, style)
        for split, dash in SPLIT_STYLES.items():
            styled = {**style, "linestyle": dash, "label": f"{run.label} s{run.seed} {split}"}
            drawn |= _plot_column(eval_ax, log, f"eval/{split}/return_mean", **styled)
    if not drawn:
        return None
    _decorate(train_ax, "Training episodes (train split)", "environment steps", "mean episode return")
    _decorate(eval_ax, "Periodic evaluation (deterministic)", "environment steps", "mean return")
    fig.suptitle(f"Learning curves: {spec}")
    return fig


def _decorate(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize="small")
    else:
        ax.text(
            0.5,
            0.5,
            "nothing logged (no periodic evaluation)",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )


# --------------------------------------------------------------------------------------------
# adaptation
# --------------------------------------------------------------------------------------------
def _curves_by_label(results: Results, spec: str, split: str, key: str) -> dict[str, np.ndarray]:
    """Mean over a label's runs of one curve (``None`` entries as NaN)."""
    labels = {r.id: r.label for r in results.runs}
    grouped: dict[str, list[np.ndarray]] = defaultdict(list)
    for curve in results.adaptation:
        values = getattr(curve, key)
        if curve.spec == spec and curve.split == split and values is not None:
            grouped[labels[curve.run]].append(
                np.array([np.nan if v is None else v for v in values], dtype=float)
            )
    out = {}
    for label, curves in grouped.items():
        width = max(len(c) for c in curves)
        padded = np.full((len(curves), width), np.nan)
        for i, c in enumerate(curves):
            padded[i, : len(c)] = c
        with warnings.catch_warnings():  # steps no episode reached stay NaN (not drawn)
            warnings.simplefilter("ignore", RuntimeWarning)
            out[label] = np.nanmean(padded, axis=0)
    return dict(sorted(out.items(), key=lambda kv: label_rank(kv[0])))


def _baselines_by_label(results: Results, spec: str, split: str) -> dict[str, float]:
    """Mean over a label's runs of the best constant latent's error (where measured)."""
    labels = {r.id: r.label for r in results.runs}
    grouped: dict[str, list[float]] = defaultdict(list)
    for curve in results.adaptation:
        if curve.spec == spec and curve.split == split and curve.mean_latent_error is not None:
            grouped[labels[curve.run]].append(curve.mean_latent_error)
    return {label: float(np.mean(values)) for label, values in grouped.items()}


def _draw_baselines(ax: Axes, baselines: dict[str, float], palette: dict[str, tuple[float, ...]]) -> None:
    """The mean-latent baseline of each label: a dotted horizontal line in its color."""
    for label, value in sorted(baselines.items(), key=lambda kv: label_rank(kv[0])):
        ax.axhline(value, color=palette[label], linestyle=":", label=f"{label}: mean latent (constant guess)")


def _adaptation_panel(
    results: Results, spec: str, splits: list[str], key: str, palette: dict[str, tuple[float, ...]]
) -> tuple[Figure, bool]:
    fig, axes = _figure(len(splits), width=4.6)
    drawn = False
    for ax, split in zip(axes, splits, strict=True):
        for label, curve in _curves_by_label(results, spec, split, key).items():
            x = np.arange(1, len(curve) + 1)
            marker = "o" if key == "episode_return" else None
            ax.plot(x, curve, color=palette[label], label=label, marker=marker)
            drawn = True
        if key == "latent_error":
            _draw_baselines(ax, _baselines_by_label(results, spec, split), palette)
        xlabel = "episode within trial" if key == "episode_return" else "step within episode"
        ylabel = {"step_return": "mean cumulative reward", "episode_return": "mean episode return"}.get(
            key, "mean |ẑ − z| (latent error)"
        )
        _decorate(ax, split, xlabel, ylabel)
        if key == "episode_return":
            ax.set_xticks(x if drawn else [1])
    return fig, drawn


def _multi_episode_trials(results: Results, spec: str) -> bool:
    """Whether any run of ``spec`` played trials of more than one episode."""
    return any(len(c.episode_return) > 1 for c in results.adaptation if c.spec == spec)


def adaptation_figures(results: Results, folder: Path, palette: dict[str, tuple[float, ...]]) -> list[str]:
    """Per spec: return by step, return by episode of a trial (only where some trial has more
    than one episode: otherwise it would be one dot per method), latent error by step with
    the mean-latent baseline."""
    made = []
    for spec in sorted({c.spec for c in results.adaptation}):
        for key, (_, stem) in ADAPTATION_FIGURES.items():
            fig = adaptation_figure(results, spec, key, palette)
            if fig is not None:
                made.append(_save(fig, folder, f"{stem}-{_slug(spec)}.png"))
    return made


ADAPTATION_FIGURES = {
    "step_return": ("Return accumulated within an episode", "adaptation-steps"),
    "episode_return": ("Return by episode within a trial", "adaptation-episodes"),
    "latent_error": ("Latent error |ẑ − z| within an episode (adapt)", "latent-error"),
}
"""The adaptation curves drawn: the curve's field, the figure's title and file stem."""


def adaptation_figure(
    results: Results, spec: str, key: str, palette: dict[str, tuple[float, ...]]
) -> Figure | None:
    """One adaptation figure of ``spec`` (``key``: a field of :data:`ADAPTATION_FIGURES`), one
    panel per split; ``None`` where nothing is drawn, and for returns by episode when every
    trial has one episode."""
    if key == "episode_return" and not _multi_episode_trials(results, spec):
        return None
    splits = [
        s for s in results.protocol.splits if any(c.spec == spec and c.split == s for c in results.adaptation)
    ]
    fig, drawn = _adaptation_panel(results, spec, splits, key, palette)
    if not drawn:
        return None
    fig.suptitle(f"{ADAPTATION_FIGURES[key][0]}: {spec}")
    return fig


# --------------------------------------------------------------------------------------------
# generalization heat map
# --------------------------------------------------------------------------------------------
def _grid_means(results: Results, source: dict[str, list[list[float | None]]]) -> dict[str, np.ndarray]:
    """Per label, the mean over its runs of ``[y][x]`` cells, in report order."""
    grouped: dict[str, list[np.ndarray]] = defaultdict(list)
    for run_id, values in source.items():
        grouped[results.run(run_id).label].append(cells_array(values))
    means = {label: np.mean(v, axis=0) for label, v in grouped.items()}
    return dict(sorted(means.items(), key=lambda kv: label_rank(kv[0])))


def _grid_by_label(results: Results, grid: GridResult) -> tuple[dict[str, np.ndarray], bool]:
    normalized = bool(grid.normalized)
    return _grid_means(results, grid.normalized if normalized else grid.returns), normalized


def _draw_regions(ax: Axes, grid: GridResult, first: bool) -> None:
    for i, ((x0, x1), (y0, y1)) in enumerate(grid.train_boxes):
        label = "train region" if first and i == 0 else None
        ax.add_patch(
            Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="white", linewidth=2, label=label)
        )
    if grid.held_out_box is not None:
        (x0, x1), (y0, y1) = grid.held_out_box
        label = "combinatorial hold-out" if first else None
        ax.add_patch(
            Rectangle(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                fill=False,
                edgecolor="red",
                linestyle="--",
                linewidth=2,
                label=label,
            )
        )


def _positions(values: list[Any]) -> np.ndarray:
    """Cell centres along an axis: the values, or 0, 1, ... for a categorical axis (names)."""
    if any(isinstance(v, str) for v in values):
        return np.arange(len(values), dtype=np.float64)
    return np.array(values, dtype=np.float64)


def _name_ticks(ax: Axes, grid: GridResult) -> None:
    """Label a categorical axis with its values (held-out ones follow the train ones)."""
    if any(isinstance(v, str) for v in grid.x_values):
        ax.set_xticks(
            range(len(grid.x_values)), [str(v) for v in grid.x_values], rotation=90, fontsize="x-small"
        )
    if any(isinstance(v, str) for v in grid.y_values):
        ax.set_yticks(range(len(grid.y_values)), [str(v) for v in grid.y_values], fontsize="x-small")


def _extent(grid: GridResult) -> tuple[float, float, float, float]:
    xs, ys = _positions(grid.x_values), _positions(grid.y_values)
    dx, dy = (xs[1] - xs[0]) / 2 if len(xs) > 1 else 0.5, (ys[1] - ys[0]) / 2 if len(ys) > 1 else 0.5
    return (xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy)


def _heat_panel(
    ax: Axes, grid: GridResult, values: np.ndarray, limits: tuple[float, float], first: bool
) -> Any:
    image = ax.imshow(
        values,
        origin="lower",
        extent=_extent(grid),
        aspect="auto",
        cmap="viridis",
        vmin=limits[0],
        vmax=limits[1],
    )
    _draw_regions(ax, grid, first=first)
    _name_ticks(ax, grid)
    ax.set_xlabel(grid.params[0])
    return image


def _value_range(values: list[np.ndarray]) -> tuple[float, float]:
    return float(min(np.nanmin(v) for v in values)), float(max(np.nanmax(v) for v in values))


def _privileged_labels(results: Results) -> set[str]:
    return {r.label for r in results.runs if r.privileged}


def heat_map(results: Results, grid: GridResult, folder: Path) -> str | None:
    """Draw :func:`heat_map_figure` (``None`` if there is nothing to draw)."""
    fig = heat_map_figure(results, grid)
    if fig is None:
        return None
    return _save(
        fig, folder, f"heatmap-{_slug(grid.spec)}-{_slug(grid.params[0])}-{_slug(grid.params[1])}.png"
    )


def heat_map_figure(results: Results, grid: GridResult) -> Figure | None:
    """One panel per method: mean normalized return (raw return without a reference) per cell.

    Normalized by the oracle, the oracle's own panel would read 1.0 everywhere by construction;
    it shows the oracle's raw mean return instead, on its own color scale (where the reference
    itself is weak, every normalized score beside it is unreliable).
    """
    by_label, normalized = _grid_by_label(results, grid)
    if not by_label:
        return None
    raw = _grid_means(results, grid.returns) if normalized else {}
    privileged = _privileged_labels(results) & set(raw) if normalized else set()
    fig, axes = _figure(len(by_label), width=4.4, height=4.0)
    scored = [v for label, v in by_label.items() if label not in privileged]
    limits = (
        (0.0, 1.0) if normalized else (min(np.nanmin(v) for v in scored), max(np.nanmax(v) for v in scored))
    )
    scale = None
    for k, (ax, (label, values)) in enumerate(zip(axes, by_label.items(), strict=True)):
        if label in privileged:
            image = _heat_panel(ax, grid, raw[label], _value_range([raw[label]]), first=k == 0)
            ax.set_title(f"{label}\nraw mean return (the reference)")
            fig.colorbar(image, ax=ax, label=f"{label}: mean return")
        else:
            scale = _heat_panel(ax, grid, values, limits, first=k == 0)
            ax.set_title(label)
        if k == 0:
            ax.set_ylabel(grid.params[1])
    axes[0].legend(loc="upper left", fontsize="small", framealpha=0.8)
    what = "normalized return" if normalized else "mean return"
    if scale is not None:
        scored_axes = [ax for ax, label in zip(axes, by_label, strict=True) if label not in privileged]
        fig.colorbar(scale, ax=scored_axes, label=what + (" (clipped to [0, 1])" if normalized else ""))
    held = ", ".join(f"{k}={v}" if isinstance(v, str) else f"{k}={v:g}" for k, v in grid.others.items())
    fig.suptitle(
        f"Generalization: {what} over {grid.params[0]} x {grid.params[1]} ({grid.spec})"
        + (f"\nheld: {held}" if held else "")
    )
    return fig


def heat_maps(results: Results, folder: Path, palette: dict[str, tuple[float, ...]]) -> list[str]:
    """A heat map per grid."""
    return [p for grid in results.grids if (p := heat_map(results, grid, folder)) is not None]


# --------------------------------------------------------------------------------------------
# rliable pictures
# --------------------------------------------------------------------------------------------
def profile_figures(results: Results, folder: Path, palette: dict[str, tuple[float, ...]]) -> list[str]:
    """Per spec: performance profiles (fraction of runs x tasks above a normalized score), one
    panel per split, with 95% stratified bootstrap bands (rliable)."""
    from rliable import plot_utils

    matrices = score_matrices(results)
    made = []
    for spec in sorted({s for s, _ in matrices}):
        splits = [split for split in results.protocol.splits if (spec, split) in matrices]
        fig, axes = _figure(len(splits), width=4.8)
        for ax, split in zip(axes, splits, strict=True):
            data = matrices[(spec, split)]
            taus = scores.profile_taus(data)
            profiles, cis = scores.performance_profiles(
                data, taus, reps=results.protocol.bootstrap_reps, seed=results.protocol.seed
            )
            plot_utils.plot_performance_profiles(
                profiles,
                taus,
                performance_profile_cis=cis,
                colors=palette,
                ax=ax,
                xlabel=r"normalized score $\tau$",
                ylabel=r"fraction of runs x tasks with score $> \tau$",
                labelsize="medium",
                ticklabelsize="small",
            )
            ax.set_title(split)
            ax.legend(fontsize="small", loc="lower left")
        fig.suptitle(f"Performance profiles: {spec}")
        made.append(_save(fig, folder, f"profiles-{_slug(spec)}.png"))
    return made


def interval_figures(results: Results, folder: Path, palette: dict[str, tuple[float, ...]]) -> list[str]:
    """Per spec and split: IQM, mean, median and optimality gap with 95% intervals (rliable)."""
    import matplotlib.pyplot as plt
    from rliable import plot_utils

    made = []
    groups = sorted({(a.spec, a.split) for a in results.aggregates})
    for spec, split in groups:
        rows = sorted(
            (a for a in results.aggregates if (a.spec, a.split) == (spec, split)),
            key=lambda a: label_rank(a.label),
        )
        labels = [a.label for a in rows]
        points = {a.label: np.array([getattr(a, m).point for m in scores.METRICS]) for a in rows}
        cis = {
            a.label: np.array(
                [[getattr(a, m).low for m in scores.METRICS], [getattr(a, m).high for m in scores.METRICS]]
            )
            for a in rows
        }
        fig, _ = plot_utils.plot_interval_estimates(
            points,
            cis,
            metric_names=[scores.METRIC_TITLES[m] for m in scores.METRICS],
            algorithms=labels,
            colors=palette,
            xlabel="normalized score (95% stratified bootstrap CI)",
            subfigure_width=3.6,
            row_height=0.6,
            xlabel_y_coordinate=-0.3 if len(labels) < 3 else -0.15,
        )
        top = 1.0 + 0.55 / fig.get_figheight()  # above the metric titles
        fig.suptitle(f"Aggregate normalized scores: {spec} {split}", y=top, fontsize="x-large")
        made.append(_save(fig, folder, f"intervals-{_slug(spec)}-{_slug(split)}.png"))
        plt.close(fig)
    return made


def success_figures(results: Results, folder: Path, palette: dict[str, tuple[float, ...]]) -> list[str]:
    """Per spec and split: the success rate's IQM and mean with 95% intervals (rliable)."""
    import matplotlib.pyplot as plt
    from rliable import plot_utils

    made = []
    for spec, split in sorted({(a.spec, a.split) for a in results.success}):
        rows = sorted(
            (a for a in results.success if (a.spec, a.split, a.group) == (spec, split, "all")),
            key=lambda a: label_rank(a.label),
        )
        points = {a.label: np.array([a.iqm.point, a.mean.point]) for a in rows}
        cis = {a.label: np.array([[a.iqm.low, a.mean.low], [a.iqm.high, a.mean.high]]) for a in rows}
        fig, _ = plot_utils.plot_interval_estimates(
            points,
            cis,
            metric_names=["IQM", "Mean"],
            algorithms=[a.label for a in rows],
            colors=palette,
            xlabel="success rate (95% stratified bootstrap CI)",
            subfigure_width=3.6,
            row_height=0.6,
            xlabel_y_coordinate=-0.3 if len(rows) < 3 else -0.15,
        )
        fig.suptitle(f"Success rate: {spec} {split}", y=1.0 + 0.55 / fig.get_figheight(), fontsize="x-large")
        made.append(_save(fig, folder, f"success-{_slug(spec)}-{_slug(split)}.png"))
        plt.close(fig)
    return made
