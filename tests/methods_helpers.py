"""Deterministic tiny preference data for the method tests (records -> tokenised examples -> stores)."""
from __future__ import annotations

import copy

import torch

from methods.base import LossConfig
from methods.devices import model_device, to_model_device
from methods.examples import attach_advantages, attach_ref_logps, attach_teacher_topk, response_view, with_samples
from methods.records import sft_from_preference, validate_preference
from methods.tokenize import Lengths, tokenize_preference, tokenize_sft
from methods.topk import precompute_advantages, precompute_sequence_logps, precompute_teacher_topk
from methods.trainer import ExamplesDataset, MethodTrainer, training_arguments

LENGTHS = Lengths(max_length=96, max_prompt_length=48)
SMALL_K = 8

# Responses of clearly different lengths, so a token mean over the whole batch differs from the
# mean of per-sequence token means.
_PAIRS = [
    ("What is two plus three?", "Five.", "Two plus three is seven, as everybody surely knows by now."),
    ("Name a colour of the sky on a clear day.", "The sky on a clear day is usually a bright and pleasant blue.", "Green."),
    ("Say hello politely.", "Hello, it is very nice to meet you today.", "Go away."),
    ("Give one word that means big.", "Large.", "Small, tiny, minuscule, and also very very little indeed."),
    ("What do bees make?", "Bees make honey and wax.", "Bees make cars."),
    ("Is water wet?", "Yes, water makes things wet.", "No."),
    ("Count to three.", "One, two, three.", "Three, seven, nine, eleven, twelve."),
    ("What colour is snow?", "Snow is white.", "Snow is purple with orange stripes."),
]


def preference_records(n: int = 4) -> list[dict]:
    out = []
    for i in range(n):
        q, good, bad = _PAIRS[i % len(_PAIRS)]
        out.append(validate_preference({
            "prompt": [{"role": "user", "content": q}],
            "chosen": [{"role": "assistant", "content": good}],
            "rejected": [{"role": "assistant", "content": bad}],
        }, "<test>", i))
    return out


def sft_examples(tokenizer, n: int = 4) -> list[dict]:
    return [tokenize_sft(tokenizer, sft_from_preference(r), LENGTHS) for r in preference_records(n)]


def preference_examples(tokenizer, n: int = 4) -> list[dict]:
    return [tokenize_preference(tokenizer, r, LENGTHS) for r in preference_records(n)]


def dpo_examples(tokenizer, reference, n: int = 4) -> list[dict]:
    """Preference examples with reference log-probs from a frozen copy of ``reference``."""
    examples = preference_examples(tokenizer, n)
    pad = tokenizer.pad_token_id
    chosen = precompute_sequence_logps(reference, response_view(examples, "chosen"), pad)
    rejected = precompute_sequence_logps(reference, response_view(examples, "rejected"), pad)
    return attach_ref_logps(examples, chosen, rejected)


def dckd_examples(tokenizer, teacher, n: int = 4, k: int = SMALL_K) -> list[dict]:
    examples = preference_examples(tokenizer, n)
    pad = tokenizer.pad_token_id
    for side in ("chosen", "rejected"):
        store = precompute_teacher_topk(teacher, response_view(examples, side), pad, k=k)
        examples = attach_teacher_topk(examples, store, side)
    return examples


def adpa_examples(tokenizer, dpo_teacher, baseline, n: int = 4, k: int = SMALL_K) -> list[dict]:
    """ADPA pairs; the dataset's rejected answers stand in for student samples (same shapes, no generation)."""
    examples = preference_examples(tokenizer, n)
    examples = with_samples(examples, [e["rejected_ids"] for e in examples])
    store = precompute_advantages(dpo_teacher, baseline, response_view(examples, "sample"), tokenizer.pad_token_id, k=k)
    return attach_advantages(examples, store)


def sample_distill_examples(tokenizer, teacher, n: int = 4, k: int = SMALL_K) -> list[dict]:
    """GKD / DistiLLM-2 pairs: chosen answer and a stand-in student sample (the rejected answer), each with the
    teacher's top-K."""
    examples = preference_examples(tokenizer, n)
    pad = tokenizer.pad_token_id
    examples = attach_teacher_topk(examples, precompute_teacher_topk(teacher, response_view(examples, "chosen"), pad, k=k), "chosen")
    examples = with_samples(examples, [e["rejected_ids"] for e in examples])
    return attach_teacher_topk(examples, precompute_teacher_topk(teacher, response_view(examples, "sample"), pad, k=k), "sample")


def examples_for(method_name: str, tokenizer, student, teacher, n: int = 4) -> list[dict]:
    reference = copy.deepcopy(student).eval()
    if method_name == "sft":
        return sft_examples(tokenizer, n)
    if method_name == "dpo":
        return dpo_examples(tokenizer, reference, n)
    if method_name == "simpo":
        return preference_examples(tokenizer, n)
    if method_name == "dckd":
        return dckd_examples(tokenizer, teacher, n)
    if method_name in ("gkd", "distillm2"):
        return sample_distill_examples(tokenizer, teacher, n)
    return adpa_examples(tokenizer, teacher, reference, n)


def on_cpu(model) -> bool:
    """``use_cpu`` for TrainingArguments: the Trainer then keeps the model where the device fixture put it."""
    return model_device(model).type == "cpu"


def batch_for(method, model, examples, pad_id) -> dict:
    """The method's collated batch, moved with the model (as the Trainer moves it)."""
    return to_model_device(method.collator(pad_id)(examples), model)


def one_sgd_step(method, model, examples, pad_id, batch_size, grad_accum, out_dir, lr=1.0, cfg=None):
    """One optimiser step through MethodTrainer with plain SGD at a constant rate: the update is exactly
    -lr * (the accumulated gradient). Returns the parameter deltas and the logged step."""
    args = training_arguments(str(out_dir), learning_rate=lr, batch_size=batch_size, grad_accum=grad_accum, max_steps=1,
                              warmup_ratio=0.0, scheduler="constant", max_grad_norm=0.0, use_cpu=on_cpu(model))
    trainer = MethodTrainer(model=model, args=args, train_dataset=ExamplesDataset(examples),
                            data_collator=method.collator(pad_id), method=method, loss_config=cfg or LossConfig(beta=0.1),
                            optimizers=(torch.optim.SGD(model.parameters(), lr=lr), None))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer.train()
    logged = next(h for h in trainer.state.log_history if "loss" in h)
    return {n: p.detach() - before[n] for n, p in model.named_parameters()}, logged
