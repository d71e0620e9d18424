"""Every method's ``compute_loss`` (the code training runs) equals the independent float64 reference of
tests/methods_reference.py, value and gradient, on a fixed small batch built through the real collators.

The model is a tiny float64 GPT-2 with a 48-token vocabulary, so the reference can afford full-vocabulary
softmaxes and explicit loops. Responses and prompts have unequal lengths (a batch-wide token mean, or a wrong
column crop, would differ), the loss weights are all distinct, and a few teacher ids lie beyond the student's
logit width (they belong to the tail bin).
"""
from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

import methods_reference as reference
from methods.base import LossConfig
from methods.examples import attach_advantages, attach_ref_logps, attach_teacher_topk, with_samples
from methods.registry import PAPER_METHODS, get_method
from methods.topk import TopKStore

V, K, PAD = 48, 5, 0
PROMPT_LENGTHS = (3, 6, 4, 5)
CHOSEN_LENGTHS = (2, 7, 4, 1)
REJECTED_LENGTHS = (5, 1, 3, 6)
SAMPLE_LENGTHS = (4, 6, 1, 3)


def f64_model(seed: int = 0):
    """GPT-2 rather than Llama: Llama's RMSNorm computes in fp32 even in an fp64 model, which rounds gradients."""
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=V, n_embd=16, n_layer=1, n_head=2, n_positions=64, initializer_range=0.4,
                        tie_word_embeddings=False, attn_pdrop=0.0, resid_pdrop=0.0, embd_pdrop=0.0, bos_token_id=1, eos_token_id=1)
    return GPT2LMHeadModel(config).double().train()


class NoLogitsToKeep(torch.nn.Module):
    """The same model behind a forward without ``logits_to_keep`` (shifted_forward's other path)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None):
        return self.model(input_ids=input_ids, attention_mask=attention_mask)

    def get_output_embeddings(self):
        return self.model.get_output_embeddings()


def _tokens(g, n):
    return torch.randint(1, V, (n,), generator=g).tolist()


def _teacher_rows(g, n, beyond_width=True):
    """[n, K] ids (distinct per row; about one in eight at or beyond V), their probabilities and the tail."""
    ids = torch.stack([torch.randperm(V + 6, generator=g)[:K] for _ in range(n)])
    if not beyond_width:
        ids = ids % V
    probs = torch.softmax(torch.randn(n, K + 1, generator=g, dtype=torch.float64) * 1.5, -1).float()
    return ids, probs[:, :K].contiguous(), probs[:, K].contiguous()


def _store(g, responses, kind: str, beyond_width=True) -> TopKStore:
    entries = []
    for r in responses:
        ids, probs, tail = _teacher_rows(g, len(r), beyond_width)
        values = probs if kind == "teacher_topk" else (torch.randn(len(r), K, generator=g) * 2.0)  # advantages: many outside [0, 1]
        entries.append({"ids": ids, "values": values, "tail": tail if kind == "teacher_topk" else torch.zeros(len(r)),
                        "tokens": torch.tensor(r)})
    return TopKStore.from_entries(entries, {"kind": kind})


def examples_for(name: str, seed: int = 1, beyond_width: bool = True) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    pairs = [{"prompt_ids": _tokens(g, p), "chosen_ids": _tokens(g, c), "rejected_ids": _tokens(g, r)}
             for p, c, r in zip(PROMPT_LENGTHS, CHOSEN_LENGTHS, REJECTED_LENGTHS)]
    if name == "sft":
        return [{"prompt_ids": e["prompt_ids"], "response_ids": e["chosen_ids"]} for e in pairs]
    if name == "dpo":
        ref = (-torch.rand(2, len(pairs), generator=g, dtype=torch.float64) * 30 - 60).tolist()
        return attach_ref_logps(pairs, ref[0], ref[1])
    if name == "dckd":
        for side in ("chosen", "rejected"):
            pairs = attach_teacher_topk(pairs, _store(g, [e[f"{side}_ids"] for e in pairs], "teacher_topk", beyond_width), side)
        return pairs
    samples = [_tokens(g, n) for n in SAMPLE_LENGTHS]
    pairs = with_samples(pairs, samples)
    return attach_advantages(pairs, _store(g, samples, "advantages", beyond_width))


CONFIGS = {
    "sft": [LossConfig()],
    "dpo": [LossConfig(beta=0.1), LossConfig(beta=0.05, label_smoothing=0.2, dpo_weight=1.5)],
    "dckd": [LossConfig(), LossConfig(sft_weight=1.3, distill_weight=0.9, chosen_distill_weight=0.3, rejected_distill_weight=0.7)],
    "adpa": [LossConfig(), LossConfig(sft_weight=1.2, adpa_weight=0.7, adpa_clip="0,1")],
}
CONFIGS["adpa_plus"] = CONFIGS["adpa"]
# The methods beyond the paper have their own references (TRL, their equations): tests/test_methods_beyond.py.
CASES = [(name, i) for name in PAPER_METHODS for i in range(len(CONFIGS[name]))]


def _grads(model) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("name, config", CASES)
@pytest.mark.parametrize("keep", [True, False], ids=["logits_to_keep", "full_logits"])
def test_compute_loss_equals_float64_reference(name, config, keep):
    cfg = CONFIGS[name][config]
    method = get_method(name)
    examples = examples_for(name)
    model = f64_model()
    batch = method.collator(PAD)(examples)
    loss, metrics = method.compute_loss(model if keep else NoLogitsToKeep(model), batch, cfg)
    loss.backward()
    ours = _grads(model)
    model.zero_grad()
    expected = reference.loss(name, model, examples, cfg)
    expected.backward()
    assert abs(expected.item()) > 1e-3
    assert loss.item() == pytest.approx(expected.item(), rel=1e-10, abs=1e-12)
    for mine, theirs, (param_name, _) in zip(ours, _grads(model), model.named_parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-8, atol=1e-12, msg=lambda m: f"{param_name}: {m}")
    # logged terms stay detached 0-d tensors (no host sync per micro-batch); MethodTrainer averages them when it logs
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in metrics.values())


def test_dpo_metrics_equal_reference_rewards():
    """Reference log-probs placed so the implicit rewards are known: three of four pairs prefer the chosen answer."""
    cfg = LossConfig(beta=0.1)
    model = f64_model()
    examples = examples_for("dpo")
    chosen_rewards, rejected_rewards = [0.3, 0.2, -0.1, 0.5], [0.1, 0.0, 0.2, -0.2]
    with torch.no_grad():
        for e, rc, rr in zip(examples, chosen_rewards, rejected_rewards):
            e["ref_chosen_logps"] = reference.sequence_logp(model, e["prompt_ids"], e["chosen_ids"]).item() - rc / cfg.beta
            e["ref_rejected_logps"] = reference.sequence_logp(model, e["prompt_ids"], e["rejected_ids"]).item() - rr / cfg.beta
    _, metrics = get_method("dpo").compute_loss(model, get_method("dpo").collator(PAD)(examples), cfg)
    metrics = {k: float(v) for k, v in metrics.items()}
    assert metrics["rewards/chosen"] == pytest.approx(sum(chosen_rewards) / 4, abs=1e-9)
    assert metrics["rewards/rejected"] == pytest.approx(sum(rejected_rewards) / 4, abs=1e-9)
    assert metrics["rewards/margins"] == pytest.approx((sum(chosen_rewards) - sum(rejected_rewards)) / 4, abs=1e-9)
    assert metrics["rewards/accuracies"] == 0.75


@pytest.mark.parametrize("name", ["dckd", "adpa"])
def test_teacher_ids_beyond_the_student_width_go_to_the_tail_bin(name):
    """Ids >= the student's logit width no longer raise: they count as tail mass (DCKD) or carry no advantage (ADPA)."""
    examples = examples_for(name)
    key = "chosen_teacher_topk" if name == "dckd" else "sample_advantages"
    assert any(bool((e[key]["ids"] >= V).any()) for e in examples)  # the batch really holds such ids
    model = f64_model()
    method, cfg = get_method(name), LossConfig()
    with torch.no_grad():
        loss, _ = method.compute_loss(model, method.collator(PAD)(examples), cfg)
        # The same ids folded into the tail by hand: an out-of-width id is dropped and its probability
        # added to the tail (DCKD), or its advantage set to 0 on an in-width id that then costs nothing (ADPA).
        expected = reference.loss(name, model, examples, cfg)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-10)
