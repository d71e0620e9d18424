"""Examples assembly: stores attach to the responses they were computed on, under names that say what they hold."""
from __future__ import annotations

import pytest
import torch

from methods.batching import PairCollator
from methods.examples import AlignmentError, attach_advantages, attach_ref_logps, attach_teacher_topk, response_view, with_samples
from methods.topk import TopKStore


def _store(responses, kind="teacher_topk"):
    entries = [{"ids": torch.full((len(r), 2), 3, dtype=torch.int32), "values": torch.full((len(r), 2), 0.25),
                "tail": torch.full((len(r),), 0.5), "tokens": torch.tensor(r, dtype=torch.int32)} for r in responses]
    return TopKStore.from_entries(entries, {"kind": kind})


EXAMPLES = [{"prompt_ids": [1, 2], "chosen_ids": [3, 4, 0], "rejected_ids": [5, 0]}]


def test_teacher_topk_attaches_and_checks_alignment():
    out = attach_teacher_topk(EXAMPLES, _store([[3, 4, 0]]), "chosen", "topk/chosen")
    entry = out[0]["chosen_teacher_topk"]
    assert entry["ids"].shape == (3, 2) and torch.equal(entry["probs"], torch.full((3, 2), 0.25)) and entry["tail"].shape == (3,)
    with pytest.raises(AlignmentError, match="topk/rejected: entry 0"):
        attach_teacher_topk(EXAMPLES, _store([[5, 7]]), "rejected", "topk/rejected")
    with pytest.raises(AlignmentError, match="holds 2 entries"):
        attach_teacher_topk(EXAMPLES, _store([[5, 0], [5, 0]]), "rejected")
    with pytest.raises(AlignmentError, match="'advantages' store; expected 'teacher_topk'"):
        attach_teacher_topk(EXAMPLES, _store([[3, 4, 0]], "advantages"), "chosen")


def test_samples_and_advantages_are_named_for_what_they_hold():
    samples = with_samples(EXAMPLES, [[9, 9, 0]])
    assert samples == [{"prompt_ids": [1, 2], "chosen_ids": [3, 4, 0], "sample_ids": [9, 9, 0]}]
    assert response_view(samples, "sample") == [{"prompt_ids": [1, 2], "response_ids": [9, 9, 0]}]
    out = attach_advantages(samples, _store([[9, 9, 0]], "advantages"), "adv")
    assert set(out[0]["sample_advantages"]) == {"ids", "advantages", "tokens"}
    with pytest.raises(AlignmentError, match="adv: entry 0"):
        attach_advantages(samples, _store([[9, 9]], "advantages"), "adv")
    with pytest.raises(AlignmentError, match="2 student samples for 1 prompts"):
        with_samples(EXAMPLES, [[1], [2]])


def test_collator_places_entries_at_the_response_positions():
    pairs = attach_teacher_topk(attach_teacher_topk(EXAMPLES, _store([[3, 4, 0]]), "chosen"), _store([[5, 0]]), "rejected")
    batch = PairCollator(pad_id=0)(pairs)
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 0], [1, 2, 5, 0, 0]]
    assert batch["labels"].tolist() == [[-100, -100, 3, 4, 0], [-100, -100, 5, 0, -100]]
    placed = (batch["teacher_tail"] == 0.5).tolist()
    assert placed == [[False, False, True, True, True], [False, False, True, True, False]]  # aligned with the labels
    samples = attach_advantages(with_samples(EXAMPLES, [[9, 0]]), _store([[9, 0]], "advantages"))
    batch = PairCollator(pad_id=0, second="sample")(samples)
    assert batch["input_ids"].tolist()[1] == [1, 2, 9, 0, 0] and "teacher_ids" not in batch
    assert (batch["advantages"][0] == 0).all() and (batch["advantages"][1, 2:4] == 0.25).all()


def test_reference_logps_attach():
    ref = attach_ref_logps(EXAMPLES, [-1.5], [-2.5])
    assert ref[0]["ref_chosen_logps"] == -1.5 and ref[0]["ref_rejected_logps"] == -2.5
    with pytest.raises(AlignmentError):
        attach_ref_logps(EXAMPLES, [-1.0, -2.0], [-1.0])
