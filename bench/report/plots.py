"""Figures from the results JSON with matplotlib (object API on the Agg canvas; pyplot's global state is not used).

- figure 5 (the paper's hyper-parameter study): DCKD's alpha and ADPA's gamma, each over the grid of values the
  entries' ``hyperparameters`` hold, against the reward score and the reward accuracy. Every entry of the method
  counts, whatever its study; error bars are 95% intervals over items (several seeds at one grid value: each
  item averaged over the seeds first).
- training curves: every ``curves`` point of the main-study entries, one panel per curve name, one line per
  (student, method), averaged over seeds with a ±1 std band.
Each figure is returned as PNG and SVG bytes; nothing is written here.
"""
from __future__ import annotations

import io
import statistics
from dataclasses import dataclass

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench import stats
from bench.results import MAIN_STUDY, Entry, Results, ResultsError, known_methods

SWEEPS = (("dckd", "alpha", "DCKD: alpha (weight of the distillation loss)"),
          ("adpa", "gamma", "ADPA: gamma (weight of the advantage loss)"))
SWEEP_METRICS = (("reward", "score", "reward score"), ("reward", "accuracy", "reward accuracy"))
FIGURE_NAMES = ("figure5", "curves")


@dataclass
class Rendered:
    name: str
    png: bytes
    svg: bytes


def plain(text: str) -> str:
    """Names from the results are data: keep matplotlib from reading '$...$' as mathtext."""
    return str(text).replace("$", r"\$")


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _hyperparameter(entry: Entry, name: str) -> float | None:
    if name not in entry.hyperparameters:
        return None
    value = entry.hyperparameters[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResultsError(f"{entry.source}: entry ({entry.describe()}): hyperparameters.{name}: "
                           f"expected a number, got {value!r}")
    return float(value)


def _interval(rows: list) -> tuple[float | None, float | None]:
    """A point's 95% interval: one seed's own, or the interval of the items averaged over the seeds."""
    if len(rows) == 1 and rows[0].interval is not None:
        return rows[0].interval.low, rows[0].interval.high
    if rows and all(r.item_scores for r in rows) and len({r.score_kind for r in rows}) == 1:
        # each item averaged over the seeds first: the unit is the item, not seed x item (docs/statistics.md)
        items: dict[str, list[float]] = {}
        for r in rows:
            for item, score in r.item_scores.items():
                items.setdefault(item, []).append(score)
        values = [sum(v) / len(v) for v in items.values()]
        kind = rows[0].score_kind if stats.is_binary(values) else "continuous"
        interval = stats.interval(values, kind)
        return (interval.low, interval.high) if interval is not None else (None, None)
    return None, None


def sweep_series(results: Results, method: str, param: str, benchmark: str, metric: str) -> dict[str, list[tuple]]:
    """student -> [(grid value, mean over seeds, interval low, interval high, n seeds)] sorted by grid value;
    unmeasured values are left out; the interval is None when the results carry no per-item scores (schema v1)."""
    by_point: dict[tuple[str, float], list] = {}
    for entry in results.entries:
        x = _hyperparameter(entry, param) if entry.method == method else None
        row = entry.metric(benchmark, metric) if x is not None else None
        if row is not None and row.value is not None:
            by_point.setdefault((entry.student, x), []).append(row)
    series: dict[str, list[tuple]] = {}
    for (student, x), rows in sorted(by_point.items(), key=lambda item: (item[0][0], item[0][1])):
        mean, _ = _mean_std([r.value for r in rows])
        series.setdefault(student, []).append((x, mean, *_interval(rows), len(rows)))
    return series


def has_sweep(results: Results) -> bool:
    """A study needs two or more grid values of one hyper-parameter with a measured reward metric."""
    return any(len(points) >= 2 for method, param, _ in SWEEPS for bench, metric, _ in SWEEP_METRICS
               for points in sweep_series(results, method, param, bench, metric).values())


def figure5(results: Results) -> Figure | None:
    if not has_sweep(results):
        return None
    fig = Figure(figsize=(10, 7), layout="constrained")
    axes = fig.subplots(len(SWEEP_METRICS), len(SWEEPS), squeeze=False)
    for col, (method, param, title) in enumerate(SWEEPS):
        for row, (bench, metric, ylabel) in enumerate(SWEEP_METRICS):
            ax = axes[row][col]
            series = sweep_series(results, method, param, bench, metric)
            for student, points in series.items():
                xs, means, lows, highs, _ = zip(*points)
                known = all(v is not None for v in lows + highs)
                yerr = [[m - lo for m, lo in zip(means, lows)], [hi - m for m, hi in zip(means, highs)]] if known else None
                ax.errorbar(xs, means, yerr=yerr, marker="o", capsize=3, label=plain(student))
            if not series:
                ax.text(0.5, 0.5, f"no {known_methods()[method]} runs with {param}", ha="center", va="center",
                        transform=ax.transAxes, color="0.4")
            elif len(series) > 1 or row == 0:
                ax.legend(fontsize="small", title="student", title_fontsize="small")
            ax.set_xlabel(param)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(title, fontsize="medium")
    fig.suptitle("Figure 5: hyper-parameter study (mean over seeds, bars: 95% interval over items)")
    return fig


def curve_series(results: Results) -> dict[str, dict[str, list[tuple]]]:
    """curve name -> 'student · METHOD' -> [(step, mean, std)] over the seeds that logged that step."""
    points: dict[str, dict[str, dict[int, list[float]]]] = {}
    for entry in results.entries:
        if entry.study != MAIN_STUDY:
            continue
        label = f"{entry.student} · {known_methods()[entry.method]}"
        for point in entry.curves:
            if point.value is not None:
                points.setdefault(point.name, {}).setdefault(label, {}).setdefault(point.step, []).append(point.value)
    return {name: {label: [(step, *_mean_std(values)) for step, values in sorted(steps.items())]
                   for label, steps in lines.items()}
            for name, lines in points.items()}


def curves_figure(results: Results) -> Figure | None:
    series = curve_series(results)
    if not series:
        return None
    ncols = min(2, len(series))
    nrows = -(-len(series) // ncols)
    fig = Figure(figsize=(5.5 * ncols, 4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, lines) in zip(axes, series.items()):
        for label, pts in lines.items():
            steps, means, stds = zip(*pts)
            (line,) = ax.plot(steps, means, marker="o", markersize=3, label=plain(label))
            if any(stds):
                low = [m - s for m, s in zip(means, stds)]
                high = [m + s for m, s in zip(means, stds)]
                ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
        ax.set_title(plain(name.replace("_", " ")), fontsize="medium")
        ax.set_xlabel("training step")
        ax.set_ylabel(plain(name))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[len(series):]:
        ax.set_visible(False)
    fig.suptitle("Training curves (checkpoints; mean ± std over seeds)")
    return fig


def to_bytes(fig: Figure, fmt: str) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # fixed ids and no dates, so a rerun on the same results writes the same bytes
    with matplotlib.rc_context({"svg.hashsalt": "adpa-bench", "svg.fonttype": "none"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
    return buffer.getvalue()


def render_figures(results: Results) -> list[Rendered]:
    figures = [("figure5", figure5(results)), ("curves", curves_figure(results))]
    return [Rendered(name, to_bytes(fig, "png"), to_bytes(fig, "svg")) for name, fig in figures if fig is not None]
