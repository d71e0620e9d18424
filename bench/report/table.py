"""The comparison table (the paper's Table 2) as a model every view renders: blocks, rows, columns, cells, footnotes.

Rules:
- One block per student, in order of first appearance. A block holds the teacher rows (``ref_teacher``,
  ``dpo_teacher``) of the student's teacher, then SFT, DPO, DCKD, ADPA, ADPA+. Teacher rows are found through the
  entry field ``teacher`` (or ``hyperparameters.teacher``); when nothing links them and the results hold exactly one
  teacher, that teacher's rows go into every block.
- Only entries of the main study form rows; sweep runs (``"study": "figure5"``) feed the plots only.
- Several seeds of one (student, method) show mean ± sample standard deviation (ddof=1) over the seeds that measured
  the value; the footnote says how many seeds are missing and why.
- A value that was not measured is a dash with the reason in a numbered footnote, never 0. A metric an entry does not
  report at all is missing with the reason "not evaluated for this model".
- Best per block: the highest mean at the displayed precision (the lowest for metric names ending in nll, loss,
  perplexity or ppl; ties all bold) among the student-method rows. Teacher rows are excluded because the comparison
  is between distillation methods; a column needs two or more measured student rows to have a best.
- Columns: the known Table-2 columns in the order below, only those some entry reports (``which="main"``). Every
  other metric the results hold (e.g. the verifier's loose scores, the reward model's own held-out accuracy) forms
  the "other metrics" table (``which="other"``); the CSV carries both (``which="all"``). Each header names its data
  set (``details.dataset`` or the benchmark's usual data) and judge (``details.judge``, or how the value is scored
  when no judge is involved); data versions are listed in the HTML metadata.
"""
from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field

from bench.results import MAIN_STUDY, TEACHER_ROWS, Entry, Results, ResultsError, known_methods

# (benchmark, metric, short label, data set the benchmark uses when details do not say)
KNOWN_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("mt_bench", "turn1", "MT-Bench turn 1", "MT-Bench"),
    ("mt_bench", "turn2", "MT-Bench turn 2", "MT-Bench"),
    ("mt_bench", "average", "MT-Bench avg", "MT-Bench"),
    ("alpaca_eval", "win_rate", "AlpacaEval WR", "AlpacaEval"),
    ("alpaca_eval", "lc_win_rate", "AlpacaEval LC", "AlpacaEval"),
    ("open_llm", "arc_challenge", "ARC-C", "Open LLM: ARC-Challenge"),
    ("open_llm", "hellaswag", "HellaSwag", "Open LLM: HellaSwag"),
    ("open_llm", "mmlu", "MMLU", "Open LLM: MMLU"),
    ("open_llm", "truthfulqa_mc2", "TruthfulQA", "Open LLM: TruthfulQA mc2"),
    ("open_llm", "winogrande", "Winogrande", "Open LLM: Winogrande"),
    ("open_llm", "gsm8k", "GSM8K", "Open LLM: GSM8K"),
    ("open_llm", "average", "Open LLM avg", "Open LLM"),
    ("reward", "score", "Reward score", "reward prompts"),
    ("reward", "accuracy", "Reward acc.", "preference pairs"),
    # the exact verifier (embedded profile), under the schema's names and lm-eval IFEval's names
    ("gold", "prompt_strict", "Verifier prompt-strict", "checkable instructions"),
    ("gold", "prompt_level_strict_acc", "Verifier prompt-strict", "checkable instructions"),
    ("gold", "instruction_strict", "Verifier instr.-strict", "checkable instructions"),
    ("gold", "inst_level_strict_acc", "Verifier instr.-strict", "checkable instructions"),
)
# labels for metrics outside the main table that are worth a readable name
OTHER_LABELS = {("gold", "prompt_loose"): "Verifier prompt-loose", ("gold", "prompt_level_loose_acc"): "Verifier prompt-loose",
                ("gold", "instruction_loose"): "Verifier instr.-loose", ("gold", "inst_level_loose_acc"): "Verifier instr.-loose",
                ("alpaca_eval", "lc_win_rate_fallback"): "AlpacaEval LC (fallback GLM)",
                ("reward", "rm_heldout_accuracy"): "Reward model held-out acc.",
                ("reward", "rm_accuracy_vs_rejected"): "Reward: beats rejected",
                ("heldout", "chosen_nll"): "Held-out chosen NLL", ("heldout", "pair_accuracy"): "Held-out pair acc."}
DEFAULT_DATA = {"mt_bench": "MT-Bench", "alpaca_eval": "AlpacaEval", "open_llm": "Open LLM", "reward": "preference pairs",
                "gold": "checkable instructions", "heldout": "held-out preference pairs"}
NOT_EVALUATED = "not evaluated for this model"


@dataclass
class Column:
    benchmark: str
    metric: str
    label: str
    datasets: list[str]
    judges: list[str]
    decimals: int = 2
    higher_is_better: bool = True
    data_versions: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)  # details.benchmark: how the evaluator names itself

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.metric}"

    @property
    def source_text(self) -> str:
        """'data: X; judge: Y' — what the header says about where the number comes from."""
        return f"data: {', '.join(self.datasets) or '?'} · judge: {', '.join(self.judges) or 'none'}"


@dataclass
class Cell:
    mean: float | None
    std: float | None  # None for a single seed
    n: int  # seeds that measured the value
    n_total: int  # seeds in the row
    values: list[float]
    footnotes: list[int] = field(default_factory=list)
    best: bool = False

    @property
    def missing(self) -> bool:
        return self.mean is None


@dataclass
class Row:
    student: str  # the block's student (teacher rows too)
    method: str
    label: str
    model: str
    seeds: list[int]
    cells: list[Cell]

    @property
    def is_teacher(self) -> bool:
        return self.method in TEACHER_ROWS


@dataclass
class Block:
    student: str
    teacher: str | None
    rows: list[Row]


@dataclass
class Table:
    profile: str
    columns: list[Column]
    blocks: list[Block]
    footnotes: list[str]  # footnote i+1 is footnotes[i]
    notes: list[str]  # table-wide remarks (columns not evaluated anywhere, ...)

    @property
    def any_std(self) -> bool:
        return any(cell.std is not None for block in self.blocks for row in block.rows for cell in row.cells)


# --------------------------------------------------------------------------------------------------------- numbers
def format_number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text  # no "-0.00"


def cell_text(cell: Cell, column: Column, pm: str = "±") -> str:
    """Mean (± std) at the column's precision, or '' when missing (views draw their own dash)."""
    if cell.mean is None:
        return ""
    text = format_number(cell.mean, column.decimals)
    if cell.std is not None:
        text += f" {pm} {format_number(cell.std, column.decimals)}"
    return text


def _decimals(values: list[float]) -> int:
    """Fractions (accuracies, win rates in [0, 1]) need three decimals to separate methods; larger scores two."""
    return 3 if values and max(abs(v) for v in values) <= 1.0 else 2


# --------------------------------------------------------------------------------------------------------- columns
def _judge_id(details: dict) -> str | None:
    judge = details.get("judge")
    if isinstance(judge, dict):
        judge = judge.get("id") or judge.get("name")
    if not judge:  # no judge involved: say what scores the value instead
        if details.get("harness"):
            metric = details.get("metric")
            return f"none ({details['harness']}{', ' + str(metric) if metric else ''})"
        if details.get("reference_model"):
            return f"none (implicit reward vs {details['reference_model']})"
    return str(judge) if judge else None


def _dataset_name(details: dict, default: str) -> str:
    name = details.get("dataset") or details.get("data") or default
    if isinstance(name, dict):
        name = name.get("name") or name.get("id") or default
    return str(name)


def _version_text(version) -> str | None:
    if not version:
        return None
    if isinstance(version, dict):
        return ", ".join(f"{k}: {v}" for k, v in version.items())
    return str(version)


def _columns(entries: list[Entry], which: str) -> tuple[list[Column], list[str]]:
    present: dict[tuple[str, str], list] = {}
    for entry in entries:
        for metric in entry.metrics:
            present.setdefault(metric.key, []).append(metric)
    known = {(b, m): (label, data) for b, m, label, data in KNOWN_COLUMNS}
    main = [(b, m) for b, m, _, _ in KNOWN_COLUMNS if (b, m) in present]
    other = [key for key in present if key not in known]
    keys = {"main": main, "other": other, "all": main + other}[which]
    columns = []
    for key in keys:
        default_label = OTHER_LABELS.get(key, f"{key[0]}/{key[1]}")
        label, default_data = known.get(key, (default_label, DEFAULT_DATA.get(key[0], key[0])))
        rows = present[key]
        lower_is_better = bool(re.search(r"(nll|loss|perplexity|ppl)$", key[1]))
        columns.append(Column(
            key[0], key[1], label + (" (lower is better)" if lower_is_better else ""),
            datasets=_unique(_dataset_name(m.details, default_data) for m in rows),
            judges=_unique(j for j in (_judge_id(m.details) for m in rows) if j),
            decimals=_decimals([m.value for m in rows if m.value is not None]),
            higher_is_better=not lower_is_better,
            data_versions=_unique(v for v in (_version_text(m.details.get("data_version")) for m in rows) if v),
            descriptions=_unique(str(m.details["benchmark"]) for m in rows if m.details.get("benchmark"))))
    notes = []
    if which != "other":
        shown = {label for b, m, label, _ in KNOWN_COLUMNS if (b, m) in present}
        absent = _unique(label for _, _, label, _ in KNOWN_COLUMNS if label not in shown)
        if absent:
            notes.append(f"Not evaluated in these results: {', '.join(absent)}.")
    if which == "main" and other:
        notes.append(f"{len(other)} other metric(s) are in the CSV and the HTML report.")
    return columns, notes


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


# ------------------------------------------------------------------------------------------------------------ rows
class _Footnotes:
    def __init__(self):
        self.texts: list[str] = []

    def number(self, text: str) -> int:
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1


def _cell(entries: list[Entry], column: Column, notes: _Footnotes) -> Cell:
    values, reasons, remarks = [], [], []
    for entry in entries:
        metric = entry.metric(column.benchmark, column.metric)
        if metric is None:
            reasons.append(NOT_EVALUATED)
        elif metric.value is None:
            reasons.append(metric.missing_reason or "not measured")
        else:
            values.append(metric.value)
            remarks += _remarks(metric.details)
    reasons = _unique(reasons)
    if not values:
        return Cell(None, None, 0, len(entries), [], [notes.number(r) for r in reasons])
    footnotes = [notes.number(r) for r in _unique(remarks)]
    if reasons:  # some seeds measured it, some did not: the mean covers only the ones that did
        missing = len(entries) - len(values)
        footnotes.append(notes.number(f"{missing} of {len(entries)} seeds not measured ({'; '.join(reasons)}); "
                                      f"the value is over the other {len(values)}"))
    std = statistics.stdev(values) if len(values) > 1 else None
    return Cell(statistics.fmean(values), std, len(values), len(entries), values, footnotes)


def _remarks(details: dict) -> list[str]:
    """What an evaluator says qualifies a measured value: a note, or an average over only some of its parts."""
    out = [str(details["note"])] if details.get("note") else []
    if details.get("complete") is False and details.get("over") is not None:
        missing = details.get("missing") or []
        out.append(f"average over {', '.join(map(str, details['over']))} only"
                   + (f" ({', '.join(map(str, missing))} not measured)" if missing else ""))
    return out


def _check_same_setting(group: list[Entry]) -> None:
    """Seeds of one row must share hyper-parameters; a sweep mixed in would be averaged as if it were seeds."""
    def setting(e: Entry) -> str:
        return json.dumps({k: v for k, v in e.hyperparameters.items() if k != "seed"}, sort_keys=True, default=str)

    first = group[0]
    for other in group[1:]:
        if setting(other) != setting(first):
            keys = sorted(k for k in set(first.hyperparameters) | set(other.hyperparameters)
                          if k != "seed" and first.hyperparameters.get(k) != other.hyperparameters.get(k))
            raise ResultsError(
                f"table row (student {first.student!r}, method {first.method!r}) mixes hyperparameter settings "
                f"({', '.join(keys)} differ between seed {first.seed} in {first.source} and seed {other.seed} in "
                f"{other.source}); mark sweep runs with \"study\": \"figure5\" so only the plots use them")


def build_table(results: Results, which: str = "main") -> Table:
    """``which``: "main" (the Table-2 columns), "other" (every other metric) or "all" (both, for the CSV)."""
    if which not in ("main", "other", "all"):
        raise ValueError(f"which must be main, other or all, not {which!r}")
    entries = [e for e in results.entries if e.study == MAIN_STUDY]
    if not entries:
        raise ResultsError("no table rows: every entry belongs to a sweep study (none has study 'main')")
    columns, notes = _columns(entries, which)
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault((entry.student, entry.method), []).append(entry)
    for group in groups.values():
        _check_same_setting(group)
        group.sort(key=lambda e: e.seed)

    footnotes = _Footnotes()

    def make_row(block_student: str, group: list[Entry], teacher: str | None = None) -> Row:
        first = group[0]
        label = known_methods()[first.method]
        alias = first.student if first.student != block_student else teacher
        if first.is_teacher and alias:
            label = f"{label}: {alias}"
        return Row(block_student, first.method, label, first.model, [e.seed for e in group],
                   [_cell(group, column, footnotes) for column in columns])

    students = _unique(e.student for e in entries if not e.is_teacher)
    teacher_groups = _unique(e.student for e in entries if e.is_teacher)
    only_teacher = teacher_groups[0] if len(teacher_groups) == 1 else None
    used_teachers: set[str] = set()
    blocks = []
    for student in students:
        linked = _unique(a for e in entries if e.student == student and not e.is_teacher and (a := e.teacher_alias))
        if len(linked) > 1:
            raise ResultsError(f"student {student!r}: entries name different teachers ({', '.join(linked)})")
        teacher = linked[0] if linked else only_teacher
        rows = []
        for method in known_methods():
            if method in TEACHER_ROWS:
                # a teacher row filed under the student itself, else the linked teacher's own rows
                group = groups.get((student, method)) or (groups.get((teacher, method)) if teacher else None)
                if group and group[0].student == teacher:
                    used_teachers.add(teacher)
            else:
                group = groups.get((student, method))
            if group:
                rows.append(make_row(student, group, teacher))
        blocks.append(Block(student, teacher, rows))
    for teacher in teacher_groups:  # teachers no student links to get a block of their own
        if teacher in used_teachers or teacher in students:
            continue
        rows = [make_row(teacher, groups[(teacher, m)]) for m in TEACHER_ROWS if (teacher, m) in groups]
        blocks.append(Block(teacher, teacher, rows))

    for block in blocks:
        _mark_best(block, columns)
    return Table(results.profile, columns, blocks, footnotes.texts, notes)


def _mark_best(block: Block, columns: list[Column]) -> None:
    candidates = [row for row in block.rows if not row.is_teacher]
    for index, column in enumerate(columns):
        shown = {id(row): round(row.cells[index].mean, column.decimals)
                 for row in candidates if row.cells[index].mean is not None}
        if len(shown) < 2:
            continue
        top = max(shown.values()) if column.higher_is_better else min(shown.values())
        for row in candidates:
            if shown.get(id(row)) == top:
                row.cells[index].best = True
