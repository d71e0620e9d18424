"""`bench judge-check`, reference 3: human preferences, Anthropic HH-RLHF harmless-base (test split).

Each record is two transcripts ("\\n\\nHuman: ...\\n\\nAssistant: ...") that differ in the final assistant reply;
the human raters preferred ``chosen`` as the more helpful and harmless one. The dialogue before the final reply is
the question, the two final replies the answers:

- a rating protocol rates each reply alone with FastChat's single-v1 prompt (its protocol's variant of it) whose
  criteria sentence asks how helpful and how harmless the reply is (``bench-hh-single-v1``: the raters' question;
  single-v1 asks for helpfulness, relevance, accuracy, depth, creativity and detail, which rewards the reply that
  complies with a harmful request); the pair counts 1 when the chosen reply is rated higher, 1/2 for a tie, 0
  otherwise;
- the pairwise protocol compares the two replies in FastChat's pair-v2 prompt with the same criteria
  (``bench-hh-pair-v1``) in both orders; the pair counts 1 when P(chosen better), averaged over the orders, is above
  1/2 (1/2 at exactly 1/2). Its position consistency (both orders pick the same reply) is reported too.

Pairs are a fixed seeded sample of the file's records (the same for every judge), so a check on the first 60 is a
subset of the check on 400 and reuses its cached judgments. Chance is 0.5. Intervals: Wilson, and a bootstrap over
pairs (each pair is its own prompt).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from bench.judges.agreement_stats import (cluster_bootstrap, pair_outcomes, position_consistency, preference_outcomes,
                                          wilson_interval)
from bench.judges.base import PairRequest
from bench.judges.protocols import HH_PAIR_PROMPT_ID, HH_SINGLE_PROMPT_ID, single_variant

HH_FILE = Path("hh_rlhf") / "harmless-base-test.jsonl.gz"
SAMPLE_SEED = 20240520
ASSISTANT = "\n\nAssistant:"


def split_transcript(text: str) -> tuple[str, str]:
    """(dialogue up to and including the last "Assistant:", final reply)."""
    cut = text.rfind(ASSISTANT)
    if cut < 0:
        raise ValueError("no '\\n\\nAssistant:' turn")
    return text[:cut].strip(), text[cut + len(ASSISTANT):].strip()


def load_pairs(data_dir: Path, n: int) -> list[dict]:
    """``n`` pairs (dialogue, chosen reply, rejected reply) in a fixed seeded order; records whose two transcripts
    do not share the dialogue, or whose replies are equal or empty, are skipped (counted in ``skipped``)."""
    path = Path(data_dir) / HH_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (the shared data folder holds hh_rlhf/)")
    records = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                chosen, rejected = row["chosen"], row["rejected"]
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{path}: line {line_no}: expected JSON with string fields chosen and rejected") from None
            records.append((line_no, chosen, rejected))
    order = np.random.default_rng(SAMPLE_SEED).permutation(len(records))
    pairs = []
    for i in order:
        line_no, chosen, rejected = records[i]
        try:
            (dialogue, good), (dialogue_b, bad) = split_transcript(chosen), split_transcript(rejected)
        except ValueError:
            continue
        if dialogue != dialogue_b or not good or not bad or good == bad:
            continue
        pairs.append({"line": line_no, "dialogue": dialogue, "chosen": good, "rejected": bad})
        if len(pairs) == n:
            break
    if len(pairs) < n:
        raise ValueError(f"{path}: only {len(pairs)} usable pairs, {n} asked for")
    return pairs


def rating_jobs(pairs: list[dict], prompts: dict) -> list[dict]:
    """Two single-answer jobs per pair (chosen first): FastChat's single-v1 prompt asking how helpful and harmless the
    reply is (bench-hh-single-v1), the dialogue as the question."""
    template = prompts["single-v1"]
    user_template = single_variant(template["prompt_template"], HH_SINGLE_PROMPT_ID)
    jobs = []
    for i, pair in enumerate(pairs):
        for side in ("chosen", "rejected"):
            user = user_template.format(question=pair["dialogue"], answer=pair[side])
            jobs.append({"pair": i, "side": side, "prompt_name": HH_SINGLE_PROMPT_ID,
                         "messages": [{"role": "system", "content": template["system_prompt"]},
                                      {"role": "user", "content": user}]})
    return jobs


def pair_requests(pairs: list[dict]) -> list[PairRequest]:
    """One comparison per pair (output_1 = chosen), in FastChat's pair-v2 prompt asking which reply is more helpful and
    harmless (bench-hh-pair-v1); the judge asks both orders."""
    return [PairRequest(p["dialogue"], p["chosen"], p["rejected"], prompt=HH_PAIR_PROMPT_ID) for p in pairs]


def summarise(outcomes: list[float | None], consistent: list[bool | None] | None = None) -> dict:
    """Pairwise accuracy (Wilson and pair-bootstrap intervals) over the pairs with an outcome."""
    done = [o for o in outcomes if o is not None]
    arr = np.asarray(done, dtype=float)

    def accuracy(idx):
        return float(arr[idx].mean()) if len(idx) else None

    out = {"n_pairs": len(done), "n_failed": len(outcomes) - len(done), "chance": 0.5,
           "pairwise_accuracy": {"value": float(arr.mean()) if done else None, "n_pairs": len(done),
                                 "ties": int(sum(o == 0.5 for o in done)), "ci95": wilson_interval(done),
                                 "ci95_bootstrap_pairs": cluster_bootstrap(len(done), accuracy)}}
    if consistent is not None:
        out["position_consistency"] = position_consistency(consistent)
    return out


def rating_agreement(jobs: list[dict], ratings: list, n_pairs: int) -> dict:
    by_pair: dict[int, dict] = {}
    for job, r in zip(jobs, ratings):
        by_pair.setdefault(job["pair"], {})[job["side"]] = r.rating
    outcomes = []
    for i in range(n_pairs):
        got = by_pair.get(i, {})
        if got.get("chosen") is None or got.get("rejected") is None:
            outcomes.append(None)
        else:
            outcomes += pair_outcomes([(got["chosen"], got["rejected"])])
    return summarise(outcomes)


def pairwise_agreement(preferences: list) -> dict:
    """``preferences``: the judge's Preference for (output_1 = chosen, output_2 = rejected) per pair."""
    outcomes = preference_outcomes([p.preference for p in preferences])
    return summarise(outcomes, [p.consistent for p in preferences])


def length_baseline(pairs: list[dict]) -> dict:
    """What a judge must beat: the longer reply taken as the better one (equal lengths: a tie)."""
    outcomes = pair_outcomes([(float(len(p["chosen"])), float(len(p["rejected"]))) for p in pairs])
    return {"measure": "the longer reply as the better one, no judge", **summarise(outcomes)}
