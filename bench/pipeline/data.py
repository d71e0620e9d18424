"""The records a run trains and evaluates on, their content versions, and their tokenised forms."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from methods.records import RecordError, sft_from_preference
from methods.tokenize import Lengths, tokenize_preference, tokenize_sft

from bench.datasets import DataUnavailable, get_source
from bench.evals import BENCHMARKS
from bench.recipe import Recipe

from .cache import stable_hash

log = logging.getLogger("bench.run")


@dataclass
class RunData:
    pref_train: list[dict]  # the students' preference pairs (and the teacher precomputes on them)
    pref_test: list[dict]
    sft: list[dict]
    descriptor: dict  # where the records came from (sources, limits)
    pref_teacher: list[dict] = field(default_factory=list)  # the DPO teacher's own pairs (teacher_train_limit)
    versions: dict = field(default_factory=dict)  # kind -> content hash

    def __post_init__(self):
        self.pref_teacher = self.pref_teacher or self.pref_train
        self.versions = {kind: stable_hash(getattr(self, kind))[:16] for kind in KINDS}


KINDS = ("pref_train", "pref_teacher", "pref_test", "sft")


def eval_data_availability(benchmarks: set[str], data_dir: Path | None) -> dict[str, str]:
    """benchmark -> why the data it cannot run without is not here, for the benchmarks the plan evaluates: a run
    learns it before training for an hour, not when its evaluation fails."""
    missing = {}
    for name in sorted(benchmarks):
        folder = BENCHMARKS[name].data if name in BENCHMARKS else None
        if folder is None:
            continue
        if data_dir is None:
            missing[name] = f"reads {folder}/ of the data directory, and none is set: pass --data-dir or set BENCH_DATA_DIR"
        elif not (Path(data_dir) / folder).is_dir():
            missing[name] = f"{Path(data_dir) / folder} not found (the data directory holds {folder}/)"
    return missing


def data_items(recipe: Recipe) -> list[str]:
    return sorted({recipe.data.source, recipe.data.sft_source})


def data_availability(recipe: Recipe, data_dir: Path | None) -> dict[str, str]:
    """name -> why it cannot be loaded here (empty when everything can)."""
    missing = {}
    for name in data_items(recipe):
        try:
            reason = get_source(name).availability(data_dir)
        except ValueError as err:
            reason = str(err)
        if reason:
            missing[name] = reason
    return missing


def _limit(records: list[dict], n) -> list[dict]:
    return records if n is None else records[: int(n)]


def load_run_data(recipe: Recipe, data_dir: Path | None) -> RunData:
    d = recipe.data
    pref_source = get_source(d.source)
    train = pref_source.preference("train", data_dir)
    pref_train = _limit(train, d.train_limit)
    pref_teacher = _limit(train, d.teacher_train_limit) if d.teacher_train_limit is not None else pref_train
    pref_test = _limit(pref_source.preference("test", data_dir), d.test_limit)
    sft_source = get_source(d.sft_source)
    if "sft" in sft_source.kinds:
        sft = sft_source.sft("train", data_dir)
    else:  # e.g. HH-RLHF: the chosen answers are the SFT targets
        sft = [sft_from_preference(r) for r in sft_source.preference("train", data_dir)]
    sft = _limit(sft, d.sft_limit)
    for name, records in (("preference train", pref_train), ("preference test", pref_test), ("SFT", sft)):
        if not records:
            raise DataUnavailable(f"the {name} data of this recipe is empty (data: {asdict(d)})")
    return RunData(pref_train, pref_test, sft, descriptor=asdict(d), pref_teacher=pref_teacher)


def _tokenise_all(records, fn, tokenizer, lengths: Lengths, what: str) -> list[tuple[int, dict]]:
    """(record index, tokenised record) of every record whose prompt fits."""
    out, skipped = [], 0
    for i, record in enumerate(records):
        try:
            out.append((i, fn(tokenizer, record, lengths, what, i)))
        except RecordError as err:
            skipped += 1
            if skipped <= 3:
                log.warning("skipping %s", err)
    if skipped:
        log.warning("%s: skipped %d of %d records (prompt longer than max_prompt_length=%d)", what, skipped, len(records), lengths.max_prompt_length)
    if not out:
        raise RecordError(what, "*", "prompt", f"every record's prompt is longer than max_prompt_length={lengths.max_prompt_length}")
    return out


def tokenised_pairs(tokenizer, records: list[dict], recipe: Recipe, what: str) -> list[dict]:
    pairs = _tokenise_all(records, tokenize_preference, tokenizer, Lengths(**asdict(recipe.lengths["pairs"])), what)
    return without_identical_pairs(pairs, what)


def without_identical_pairs(examples: list[tuple[int, dict]], what: str) -> list[dict]:
    """Drop pairs whose chosen and rejected answers are the same tokens: they carry no preference (DPO's loss is
    exactly log 2 with zero gradient, the distillation terms see one answer twice). Counted in a warning (terminal
    and run.log); a data set with nothing else left is an error naming it."""
    same = [i for i, e in examples if e["chosen_ids"] == e["rejected_ids"]]
    kept = [e for _, e in examples if e["chosen_ids"] != e["rejected_ids"]]
    if same:
        log.warning("%s: dropped %d of %d preference pairs whose chosen and rejected answers are identical after "
                    "tokenisation (records %s)", what, len(same), len(examples), _some(same))
    if not kept:
        raise RecordError(what, "*", "rejected", f"identical to 'chosen' after tokenisation in all {len(examples)} pairs: "
                          "nothing to learn a preference from; fix the data set or choose another (data.source)")
    return kept


def _some(indices: list[int], shown: int = 5) -> str:
    return ", ".join(map(str, indices[:shown])) + (", ..." if len(indices) > shown else "")


def tokenised_sft(tokenizer, records: list[dict], recipe: Recipe, what: str) -> list[dict]:
    return [e for _, e in _tokenise_all(records, tokenize_sft, tokenizer, Lengths(**asdict(recipe.lengths["sft"])), what)]
