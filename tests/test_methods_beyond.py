"""The methods beyond the paper (GKD, DistiLLM-2, SimPO): each ``compute_loss`` (the code training runs) against an
independent reference, value and gradient, on a tiny float64 GPT-2 through the real collators.

- GKD against TRL's own ``GKDTrainer.generalized_jsd_loss`` (beta 0, 0.5, 1; temperature 1 and 0.7). TRL needs the
  teacher's full distribution, so the teacher top-K here covers the whole vocabulary (K = V, tail 0), with dyadic
  probabilities that float32 stores exactly: then the K + 1 bins are the full vocabulary and both sides agree to
  rounding.
- SimPO against TRL's ``CPOTrainer.cpo_loss`` (loss_type "simpo") on length-averaged log-probs from TRL's own
  ``get_batch_logps``.
- DistiLLM-2 against its equations written out here in float64 loops (the contrastive loss of Ko et al. 2025, Sec. 3):
      L = 1/2 [ mean_seq mean_tok KL(p || a p + (1-a) q) on chosen + mean_seq mean_tok KL(q || (1-a) p + a q) on samples ]
  on the full vocabulary (K = V) and on K + 1 bins with teacher ids beyond the student's width (they join the rest bin).
"""
from __future__ import annotations

import math

import pytest
import torch

from methods.base import LossConfig
from methods.examples import AlignmentError, attach_teacher_topk, with_samples
from methods.registry import get_method
from methods.topk import TopKStore

from test_methods_exact import PAD, V, f64_model

PROMPTS = (3, 6, 4, 5)
CHOSEN = (2, 7, 4, 1)
SAMPLES = (4, 6, 1, 3)
REJECTED = (5, 1, 3, 6)


def _tokens(g, n):
    return torch.randint(2, V, (n,), generator=g).tolist()


def _full_rows(g, n):
    """[n, V] ids (a permutation per row), dyadic probabilities (exact in float32, sum exactly 1), tail 0."""
    ids = torch.stack([torch.randperm(V, generator=g) for _ in range(n)])
    counts = 1 + torch.multinomial(torch.softmax(torch.randn(V, generator=g) * 2, 0), 4096 - V, replacement=True,
                                   generator=g).bincount(minlength=V).unsqueeze(0).repeat(n, 1)
    counts = torch.stack([c[torch.randperm(V, generator=g)] for c in counts])
    return ids, (counts.double() / 4096).float(), torch.zeros(n)


def _topk_rows(g, n, k=5):
    """[n, k] ids (about one in eight beyond the student's width), probabilities and a non-zero tail."""
    ids = torch.stack([torch.randperm(V + 6, generator=g)[:k] for _ in range(n)])
    probs = torch.softmax(torch.randn(n, k + 1, generator=g, dtype=torch.float64) * 1.5, -1).float()
    return ids, probs[:, :k].contiguous(), probs[:, k].contiguous()


def _store(rows_of, g, responses):
    entries = []
    for r in responses:
        ids, probs, tail = rows_of(g, len(r))
        entries.append({"ids": ids, "values": probs, "tail": tail, "tokens": torch.tensor(r)})
    return TopKStore.from_entries(entries, {"kind": "teacher_topk"})


def distill_examples(full: bool, seed: int = 3) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    rows_of = _full_rows if full else _topk_rows
    pairs = [{"prompt_ids": _tokens(g, p), "chosen_ids": _tokens(g, c), "rejected_ids": _tokens(g, r)}
             for p, c, r in zip(PROMPTS, CHOSEN, REJECTED)]
    pairs = attach_teacher_topk(pairs, _store(rows_of, g, [e["chosen_ids"] for e in pairs]), "chosen")
    samples = [_tokens(g, n) for n in SAMPLES]
    pairs = with_samples(pairs, samples)
    return attach_teacher_topk(pairs, _store(rows_of, g, samples), "sample")


def response_logits(model, prompt, response) -> torch.Tensor:
    """[len(response), V] float64 logits predicting each response token, one sequence, no padding."""
    logits = model(input_ids=torch.tensor([list(prompt) + list(response)])).logits[0]
    return logits[len(prompt) - 1: len(prompt) + len(response) - 1].double()


def _grads(model):
    return [p.grad.detach().clone() for p in model.parameters()]


def _compare(method_name, examples, cfg, reference_fn, rel=1e-10):
    method = get_method(method_name)
    model = f64_model()
    loss, metrics = method.compute_loss(model, method.collator(PAD)(examples), cfg)
    loss.backward()
    ours = _grads(model)
    model.zero_grad()
    expected = reference_fn(model, examples)
    expected.backward()
    assert abs(expected.item()) > 1e-3
    assert loss.item() == pytest.approx(expected.item(), rel=rel, abs=1e-12)
    for mine, theirs, (name, _) in zip(ours, _grads(model), model.named_parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-7, atol=1e-11, msg=lambda m: f"{name}: {m}")
    # logged terms are detached 0-d tensors (no host sync per step; the trainer reads them when it logs)
    assert all(torch.is_tensor(v) and v.dim() == 0 and not v.requires_grad and math.isfinite(v.item())
               for v in metrics.values())
    return {k: v.item() for k, v in metrics.items()}


# --- GKD against TRL -------------------------------------------------------------------------------------------------

def _trl_gkd_class():
    try:
        from trl.experimental.gkd import GKDTrainer
    except ImportError:
        from trl import GKDTrainer
    return GKDTrainer


def _dense_teacher_logits(entry) -> torch.Tensor:
    """The stored full-vocabulary distribution as log-probabilities in vocabulary order ([n, V] float64)."""
    out = torch.empty(entry["ids"].shape, dtype=torch.float64)
    out.scatter_(1, entry["ids"].long(), entry["probs"].double().log())
    return out


def trl_gkd(model, examples, lmbda, beta, temperature):
    jsd = _trl_gkd_class().generalized_jsd_loss
    per_side = {}
    for side in ("chosen", "sample"):
        values = [jsd(response_logits(model, e["prompt_ids"], e[f"{side}_ids"]).unsqueeze(0),
                      _dense_teacher_logits(e[f"{side}_teacher_topk"]).unsqueeze(0), labels=torch.tensor([e[f"{side}_ids"]]),
                      beta=beta, temperature=temperature)
                  for e in examples]  # batchmean of one sequence over its labelled tokens: its token mean
        per_side[side] = sum(values) / len(values)
    return lmbda * per_side["sample"] + (1 - lmbda) * per_side["chosen"]


@pytest.mark.parametrize("beta, temperature", [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (0.0, 0.7), (0.5, 0.7), (1.0, 0.7),
                                               (0.25, 1.3)])  # 0.25: a mixture that is not symmetric in p and q
def test_gkd_equals_trl_generalized_jsd(beta, temperature):
    lmbda = 0.7
    cfg = LossConfig(settings={"lmbda": lmbda, "beta": beta, "temperature": temperature})
    metrics = _compare("gkd", distill_examples(full=True), cfg, lambda m, ex: trl_gkd(m, ex, lmbda, beta, temperature))
    assert metrics["jsd/samples"] != pytest.approx(metrics["jsd/chosen"])  # the two halves really differ


def test_gkd_lambda_weighs_the_samples():
    """lambda 1: samples only; lambda 0: chosen answers only (each equal to its half of TRL's reference)."""
    examples = distill_examples(full=True)
    for lmbda in (0.0, 1.0):
        cfg = LossConfig(settings={"lmbda": lmbda, "beta": 0.5, "temperature": 1.0})
        _compare("gkd", examples, cfg, lambda m, ex: trl_gkd(m, ex, lmbda, 0.5, 1.0))


# --- SimPO against TRL -----------------------------------------------------------------------------------------------

def _trl_cpo_class():
    try:
        from trl.experimental.cpo import CPOTrainer
    except ImportError:
        from trl import CPOTrainer
    return CPOTrainer


def trl_simpo(model, examples, beta, gamma, label_smoothing):
    """TRL's CPOTrainer.cpo_loss (loss_type "simpo") on a bare object holding only what it reads; average log-probs
    from TRL's get_batch_logps(average_log_prob=True) on each unpadded sequence."""
    cls = _trl_cpo_class()
    trainer = object.__new__(cls)
    trainer.beta, trainer.simpo_gamma, trainer.label_smoothing, trainer.loss_type = beta, gamma, label_smoothing, "simpo"
    trainer.accelerator = type("Acc", (), {"device": torch.device("cpu")})()
    trainer.alpha = 0.0  # TRL's AlphaPO transform off: plain SimPO

    def avg(e, key):
        ids = torch.tensor([e["prompt_ids"] + e[key]])
        labels = torch.tensor([[-100] * len(e["prompt_ids"]) + e[key]])
        logits = model(input_ids=ids).logits.double()
        return cls.get_batch_logps(logits, labels, average_log_prob=True, is_encoder_decoder=False)

    chosen = torch.cat([avg(e, "chosen_ids") for e in examples])
    rejected = torch.cat([avg(e, "rejected_ids") for e in examples])
    losses, _, _ = trainer.cpo_loss(chosen, rejected)
    return losses.mean()


@pytest.mark.parametrize("beta, gamma, smoothing", [(2.0, 1.0, 0.0), (2.5, 1.4, 0.0), (0.7, 0.3, 0.2)])
def test_simpo_equals_trl_cpo_simpo_loss(beta, gamma, smoothing):
    examples = [{k: e[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")} for e in _pairs()]
    cfg = LossConfig(settings={"beta": beta, "gamma": gamma, "label_smoothing": smoothing})
    metrics = _compare("simpo", examples, cfg, lambda m, ex: trl_simpo(m, ex, beta, gamma, smoothing))
    assert metrics["rewards/margins"] == pytest.approx(metrics["rewards/chosen"] - metrics["rewards/rejected"])


def _pairs(seed=5):
    g = torch.Generator().manual_seed(seed)
    return [{"prompt_ids": _tokens(g, p), "chosen_ids": _tokens(g, c), "rejected_ids": _tokens(g, r)}
            for p, c, r in zip(PROMPTS, CHOSEN, REJECTED)]


# --- DistiLLM-2 against its equations --------------------------------------------------------------------------------

def _bins(logq_full: torch.Tensor, ids, probs, tail):
    """Teacher p and student q ([K' + 1] float64) over the stored ids within the student's width plus one rest bin;
    the teacher mass of ids >= V joins the rest bin."""
    inside = [(token, prob) for token, prob in zip(ids, probs) if token < V]
    p_rest = float(tail) + sum(prob for token, prob in zip(ids, probs) if token >= V)
    q_top = torch.exp(logq_full[[token for token, _ in inside]])
    p = torch.tensor([prob for _, prob in inside] + [p_rest], dtype=torch.float64)
    q = torch.cat([q_top, torch.clamp(1.0 - q_top.sum(), min=torch.finfo(torch.float64).tiny).reshape(1)])
    return p, q


def _kl(a, b):
    """sum a (log a - log b) over the bins where a > 0."""
    keep = a > 0
    return (a[keep] * (torch.log(a[keep]) - torch.log(b[keep]))).sum()


def distillm2_reference(model, examples, alpha, variant="paper"):
    def side_mean(side, divergence):
        per_sequence = []
        for e in examples:
            response, entry = e[f"{side}_ids"], e[f"{side}_teacher_topk"]
            logits = response_logits(model, e["prompt_ids"], response)
            values = []
            for j in range(len(response)):
                p, q = _bins(torch.log_softmax(logits[j], 0), entry["ids"][j].tolist(), entry["probs"][j].double().tolist(),
                             float(entry["tail"][j]))
                values.append(divergence(p, q))
            per_sequence.append(sum(values) / len(values))
        return sum(per_sequence) / len(per_sequence)

    skl = side_mean("chosen", lambda p, q: _kl(p, alpha * p + (1 - alpha) * q))  # SKL on the teacher-side responses
    if variant == "released_code":  # distillm_trainer.py: the mixture's student share detached, the terms summed
        return skl + side_mean("sample", lambda p, q: _kl(q, (1 - alpha) * p + alpha * q.detach()))
    srkl = side_mean("sample", lambda p, q: _kl(q, (1 - alpha) * p + alpha * q))  # SRKL on the student's samples
    return 0.5 * (skl + srkl)


@pytest.mark.parametrize("full", [True, False], ids=["full_vocabulary", "topk_with_tail"])
@pytest.mark.parametrize("alpha", [0.1, 0.35])
def test_distillm2_equals_its_equations(full, alpha):
    examples = distill_examples(full=full)
    if not full:
        assert any(bool((e["sample_teacher_topk"]["ids"] >= V).any()) for e in examples)  # out-of-width ids present
    metrics = _compare("distillm2", examples, LossConfig(settings={"alpha": alpha}), lambda m, ex: distillm2_reference(m, ex, alpha))
    assert metrics["loss/skl_chosen"] > 0 and metrics["loss/srkl_samples"] > 0


@pytest.mark.parametrize("full", [True, False], ids=["full_vocabulary", "topk_with_tail"])
def test_distillm2_released_code_variant_equals_the_authors_loss(full):
    """The released trainer's loss: summed terms, the SRKL mixture's student share detached. Value and gradient are
    compared, so a variant that still averaged, or did not detach (same value, other gradient), fails."""
    examples = distill_examples(full=full)
    cfg = LossConfig(settings={"alpha": 0.35, "variant": "released_code"})
    _compare("distillm2", examples, cfg, lambda m, ex: distillm2_reference(m, ex, 0.35, "released_code"))
    # the detach changes the gradient and nothing else: the paper's reference, doubled, has the same value
    model = f64_model()
    assert distillm2_reference(model, examples, 0.35, "released_code").item() == pytest.approx(
        2 * distillm2_reference(model, examples, 0.35).item(), rel=1e-12)


# --- settings ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, settings, field", [
    ("gkd", {"beta": 1.5}, "beta"), ("gkd", {"lmbda": -0.1}, "lmbda"), ("gkd", {"temperature": 0.0}, "temperature"),
    ("distillm2", {"alpha": 1.0}, "alpha"), ("distillm2", {"samples_per_prompt": 0}, "samples_per_prompt"),
    ("distillm2", {"variant": "code"}, "variant"),
    ("simpo", {"beta": 0.0}, "beta"), ("simpo", {"gama": 1.0}, "gama"), ("simpo", {"beta": "2"}, "beta"),
])
def test_bad_settings_name_the_field(name, settings, field):
    with pytest.raises(ValueError, match=field):
        get_method(name).settings(settings)


def test_paper_defaults():
    gkd, dl2, simpo = (get_method(n).settings({}) for n in ("gkd", "distillm2", "simpo"))
    assert (gkd.lmbda, gkd.beta, gkd.temperature) == (0.5, 0.5, 0.9)
    assert (dl2.alpha, dl2.sample_temperature, dl2.top_p, dl2.variant) == (0.1, 0.8, 0.95, "paper")
    assert (simpo.beta, simpo.gamma) == (2.0, 1.0)
    assert get_method("gkd").sampling(LossConfig()).temperature == 0.9


def test_several_samples_per_prompt_expand_the_pairs_in_order():
    """Samples row i * n + j is sample j of prompt i; the chosen side's teacher top-K stays with its pair."""
    examples = [{"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3], "chosen_teacher_topk": "c0"},
                {"prompt_ids": [4], "chosen_ids": [5], "rejected_ids": [6], "chosen_teacher_topk": "c1"}]
    pairs = with_samples(examples, [[10], [11], [12], [13]], per_prompt=2)
    assert [(p["prompt_ids"], p["sample_ids"], p["chosen_teacher_topk"]) for p in pairs] == [
        ([1], [10], "c0"), ([1], [11], "c0"), ([4], [12], "c1"), ([4], [13], "c1")]
    with pytest.raises(AlignmentError, match="2 per prompt"):
        with_samples(examples, [[10], [11], [12]], per_prompt=2)
