"""The paper's hub data sets: dpo-mix-7k (pairs), Deita-10k (SFT) and HelpSteer2 (pairs from ratings).

Offline, each is read from the data directory (see bench/datasets/local_files.py for the file names):
  dpo_mix_7k   <data_dir>/dpo_mix_7k/{train,test}.jsonl     columns chosen, rejected: whole conversations
  deita_10k    <data_dir>/deita_10k/{train_sft,test_sft}.jsonl   column messages
  helpsteer2   <data_dir>/helpsteer2/{train,validation}.jsonl    columns prompt, response, helpfulness
HelpSteer2 has two rated responses per prompt; a pair takes the one with the higher ``helpfulness`` as chosen and
the other as rejected, and prompts whose responses tie are dropped (counted in a warning). The prompt string,
multi-turn markers included, is one user turn.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from methods.records import RecordError, from_full_conversations, validate_preference, validate_sft

from . import register
from .base import DataSource
from .local_files import availability, convert_all, load_rows

log = logging.getLogger("bench.datasets")


class HubSource(DataSource):
    hub_id = ""
    folder = ""
    split_names: dict[str, str] = {"train": "train", "test": "test"}

    def availability(self, data_dir: Path | None = None) -> str | None:
        return availability(self.name, self.hub_id, self.folder, tuple(self.split_names.values()), data_dir)

    def rows(self, split: str, data_dir: Path | None) -> list[dict]:
        if split not in self.split_names:
            raise ValueError(f"dataset '{self.name}' has splits {list(self.split_names)}, not {split!r}")
        return load_rows(self.name, self.hub_id, self.folder, self.split_names[split], data_dir)


class DpoMix7k(HubSource):
    name = "dpo_mix_7k"
    description = "argilla/dpo-mix-7k preference pairs (the paper's alignment data; train 6.75k, test 750)"
    kinds = ("preference",)
    hub_id = "argilla/dpo-mix-7k"
    folder = "dpo_mix_7k"

    def preference(self, split="train", data_dir=None):
        where = f"{self.name}:{split}"
        return convert_all(self.rows(split, data_dir), lambda r, i: from_full_conversations(r.get("chosen"), r.get("rejected"), where, i), where)


class Deita10k(HubSource):
    name = "deita_10k"
    description = "HuggingFaceH4/deita-10k-v0-sft conversations (the paper's SFT data)"
    kinds = ("sft",)
    hub_id = "HuggingFaceH4/deita-10k-v0-sft"
    folder = "deita_10k"
    split_names = {"train": "train_sft", "test": "test_sft"}

    def sft(self, split="train", data_dir=None):
        where = f"{self.name}:{split}"
        return convert_all(self.rows(split, data_dir), lambda r, i: validate_sft({"messages": r.get("messages")}, where, i), where)


def helpsteer2_pairs(rows: list[dict], where: str) -> list[dict]:
    """Group responses by prompt (first-seen order); chosen = most helpful, rejected = least; ties dropped."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for row in convert_all(rows, lambda row, i: _rated_response(row, where, i), where):
        groups.setdefault(row["prompt"], []).append(row)
    pairs, ties, single = [], 0, 0
    for i, (prompt, responses) in enumerate(groups.items()):
        if len(responses) < 2:
            single += 1
            continue
        ranked = sorted(responses, key=lambda r: -r["helpfulness"])
        if ranked[0]["helpfulness"] == ranked[-1]["helpfulness"]:
            ties += 1
            continue
        record = {"prompt": [{"role": "user", "content": prompt}], "chosen": [{"role": "assistant", "content": ranked[0]["response"]}],
                  "rejected": [{"role": "assistant", "content": ranked[-1]["response"]}]}
        try:
            pairs.append(validate_preference(record, where, i))
        except RecordError as err:
            log.warning("%s: skipping %s", where, err)
    if ties or single:
        log.warning("%s: %d prompts dropped for tied helpfulness, %d with a single response", where, ties, single)
    return pairs


def _rated_response(row: dict, where: str, index: int) -> dict:
    for key, kind in (("prompt", str), ("response", str), ("helpfulness", (int, float))):
        value = row.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise RecordError(where, index, key, f"expected {'a string' if kind is str else 'a number'}, got {value!r}")
    return row


class HelpSteer2(HubSource):
    name = "helpsteer2"
    description = "nvidia/HelpSteer2: pairs of the two responses per prompt, chosen by higher helpfulness"
    kinds = ("preference",)
    hub_id = "nvidia/HelpSteer2"
    folder = "helpsteer2"
    split_names = {"train": "train", "test": "validation"}

    def preference(self, split="train", data_dir=None):
        return helpsteer2_pairs(self.rows(split, data_dir), f"{self.name}:{split}")


for _source in (DpoMix7k(), Deita10k(), HelpSteer2()):
    register(_source)
