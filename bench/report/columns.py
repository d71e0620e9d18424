"""Which metrics a table shows, under which short label, and what its footnote says about each (data, judge and how
far the judge can be trusted, n, how the interval was computed). Headers carry labels only; no machine paths."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from bench.judges.validation import column_status, latest_checks
from bench.results import Entry, MetricResult
from bench.results.compare import distinct_judges

# The paper's Table 2 shape: one column per headline metric, in this order (benchmark, metric, label).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("mt_bench", "average", "MT-Bench"),
    ("alpaca_eval", "win_rate", "AlpacaEval WR"),
    ("alpaca_eval", "lc_win_rate", "AlpacaEval LC"),
    ("open_llm", "average", "Open LLM avg"),
    ("reward", "score", "Reward score"),
    ("gold", "prompt_level_strict_acc", "Verifier prompt"),
    ("gold", "inst_level_strict_acc", "Verifier instr."),
    # results files of schema v1 used these names for the verifier
    ("gold", "prompt_strict", "Verifier prompt"),
    ("gold", "instruction_strict", "Verifier instr."),
)
# Readable names for metrics of the "other metrics" table.
OTHER_LABELS = {
    ("mt_bench", "turn1"): "MT-Bench turn 1", ("mt_bench", "turn2"): "MT-Bench turn 2",
    ("open_llm", "arc_challenge"): "ARC-C", ("open_llm", "hellaswag"): "HellaSwag", ("open_llm", "mmlu"): "MMLU",
    ("open_llm", "truthfulqa_mc2"): "TruthfulQA mc2", ("open_llm", "winogrande"): "Winogrande", ("open_llm", "gsm8k"): "GSM8K",
    ("reward", "accuracy"): "Reward acc. (implicit)", ("reward", "rm_accuracy_vs_rejected"): "Reward: beats rejected",
    ("reward", "rm_heldout_accuracy"): "Reward model held-out acc.",
    ("alpaca_eval", "lc_win_rate_fallback"): "AlpacaEval LC (fallback GLM)",
    ("gold", "prompt_level_loose_acc"): "Verifier prompt loose", ("gold", "inst_level_loose_acc"): "Verifier instr. loose",
    ("gold", "prompt_loose"): "Verifier prompt loose", ("gold", "instruction_loose"): "Verifier instr. loose",
    ("heldout", "chosen_nll"): "Held-out chosen NLL", ("heldout", "pair_accuracy"): "Held-out pair acc.",
}
DEFAULT_DATA = {"mt_bench": "MT-Bench", "alpaca_eval": "AlpacaEval", "open_llm": "Open LLM Leaderboard tasks",
                "reward": "preference pairs (test split)", "gold": "built-in checkable instructions",
                "heldout": "held-out preference pairs"}


@dataclass
class Column:
    benchmark: str
    metric: str
    label: str
    decimals: int = 2
    higher_is_better: bool = True
    datasets: list[str] = field(default_factory=list)
    judges: list[str] = field(default_factory=list)  # the judges' labels, for the footnote
    n_judges: int = 1  # judges told apart as the comparisons tell them (bench.results.compare.distinct_judges)
    data_versions: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)  # details.benchmark: how the evaluator names itself
    agreements: list[str] = field(default_factory=list)  # how far the judge can be trusted (bench judge-check)
    n_items: list[int] = field(default_factory=list)
    interval_methods: list[str] = field(default_factory=list)
    footnote: int | None = None  # the table footnote that describes the column
    # per block: (student, (difference, n, how)) the run could detect between two students of that block
    detectable: list[tuple[str, tuple[float, int, str]]] = field(default_factory=list)
    family: int = 0  # comparisons in the column's Holm family (bench.results.compare)
    # bench.judges.validation: None for a column no LLM judge scores; False greys the column (no bold, no marks)
    judge_validated: bool | None = None
    judge_status: str | None = None

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.metric}"

    def describe(self) -> str:
        """The column's footnote: what the number is, on what data, judged by whom, and how much to trust it."""
        n = sorted(set(self.n_items))
        parts = [f"{self.label}: {', '.join(self.descriptions) or self.benchmark + '/' + self.metric}",
                 f"data: {', '.join(self.datasets) or '?'}", f"judge: {', '.join(self.judges) or 'none'}"]
        if n:
            parts.append(f"n = {n[0]}" + (f"-{n[-1]}" if len(n) > 1 else "") + " items per model")
        if self.interval_methods:
            parts.append(f"95% interval: {'; '.join(self.interval_methods)}")
        if self.n_judges > 1:  # bench.results.compare.judged_alike
            parts.append(f"{self.n_judges} judges: a row is compared (▲/▼, bold) only with rows scored by the same judge")
        parts += [f"judge agreement: {a}" for a in self.agreements]
        if self.judge_status:
            parts.append(f"judge {self.judge_status}" + (" (column greyed: no bold, no significance marks)"
                                                         if self.judge_validated is False else ""))
        return "; ".join(parts)


def decimals(values: Sequence[float]) -> int:
    """Fractions (accuracies in [0, 1]) need three decimals to separate methods; larger scores two."""
    return 3 if values and max(abs(v) for v in values) <= 1.0 else 2


def _judge(details: dict) -> str | None:
    judge = details.get("judge")
    if isinstance(judge, dict):
        name = judge.get("id") or judge.get("name")
        settings = judge.get("settings") if isinstance(judge.get("settings"), dict) else {}
        mode = settings.get("rating_mode")
        if name and settings.get("protocol"):  # a local judge's named, versioned protocol (bench.judges.protocols)
            judge = f"{name} (protocol {settings['protocol']}, prompt {settings.get('prompt_id', '?')})"
        else:
            judge = f"{name} ({mode})" if name and mode else name
    if not judge and details.get("harness"):
        return f"none ({details['harness']}{', ' + str(details['metric']) if details.get('metric') else ''})"
    if not judge and details.get("reference_model"):
        return "none (implicit reward against the model it was trained from)"
    if isinstance(judge, str) and judge.startswith("reward:"):  # the reward model's folder is a machine path
        judge = "reward model " + judge.split("/")[-1][:24]
    return str(judge) if judge else None


def _agreements(details: list[dict]) -> list[str]:
    """The judges' recorded agreement, the latest check of each judge once (bench.judges.validation.latest_checks)."""
    texts = []
    for judge in latest_checks(d.get("judge") for d in details):
        agreement = judge.get("agreement") if isinstance(judge, dict) else None
        if isinstance(agreement, dict):
            texts.append(str(agreement.get("text") or agreement.get("summary") or ""))
        elif agreement:
            texts.append(str(agreement))
    return _unique(texts)


def _unique(items) -> list:
    return list(dict.fromkeys(i for i in items if i not in (None, "")))


def _version_text(version) -> str | None:
    if isinstance(version, dict):
        return ", ".join(f"{k}: {v}" for k, v in version.items())
    return str(version) if version else None


def make_column(key: tuple[str, str], label: str, rows: list[MetricResult]) -> Column:
    status = column_status(key[0], [r.details.get("judge") for r in rows])
    lower_is_better = any(not r.higher_is_better for r in rows) or bool(re.search(r"(nll|loss|perplexity|ppl)$", key[1]))
    details = [r.details for r in rows]
    return Column(
        key[0], key[1], label, decimals([r.value for r in rows if r.value is not None]), not lower_is_better,
        datasets=_unique(str(d.get("dataset") or DEFAULT_DATA.get(key[0], key[0])) for d in details),
        judges=_unique(_judge(d) for d in details),
        n_judges=distinct_judges([r.details.get("judge") for r in rows if r.value is not None]),
        data_versions=_unique(_version_text(d.get("data_version")) for d in details),
        descriptions=_unique(str(d["benchmark"]) for d in details if d.get("benchmark")),
        agreements=_agreements(details), n_items=[r.n_items for r in rows if r.value is not None],
        interval_methods=_unique(r.interval.method for r in rows if r.interval),
        judge_validated=None if status is None else status.validated, judge_status=None if status is None else status.text)


def choose_columns(entries: list[Entry], which: str) -> tuple[list[Column], list[str]]:
    """``which``: "main" (the headline metrics), "other" (every other metric) or "all" (both, for the CSV)."""
    present: dict[tuple[str, str], list[MetricResult]] = {}
    for entry in entries:
        for metric in entry.metrics:
            present.setdefault(metric.key, []).append(metric)
    headline = {(b, m): label for b, m, label in HEADLINE}
    main = [(b, m) for b, m, _ in HEADLINE if (b, m) in present]
    other = [key for key in present if key not in headline]
    keys = {"main": main, "other": other, "all": main + other}[which]
    columns = [make_column(k, headline.get(k) or OTHER_LABELS.get(k, f"{k[0]}/{k[1]}"), present[k]) for k in keys]
    notes = []
    if which == "main":
        absent = _unique(label for b, m, label in HEADLINE if (b, m) not in present and label not in {c.label for c in columns})
        if absent:
            notes.append(f"Not evaluated in these results: {'; '.join(absent)}")
        if other:
            notes.append(f"{len(other)} other metric(s) are in the CSV and the HTML report.")
    return columns, notes
