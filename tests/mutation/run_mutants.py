"""Mutation check for methods/: do the fast methods tests notice a wrong sign, a swapped pair, a dropped term?

Each mutant is a hand-made textual patch of one methods/ source file. It is applied to a temporary copy of the
package (the real files are never edited), the fast methods tests run against that copy (first failure stops
the run), and the mutant is recorded as killed (some test failed) or survived. A survivor carries a note saying
why it is equivalent to the original or why letting it live is acceptable.

    python tests/mutation/run_mutants.py            # all mutants: a table and the kill fraction (`make mutation`)
    python tests/mutation/run_mutants.py --list     # the mutants, nothing run
    python tests/mutation/run_mutants.py --only adpa-term-sign dckd-swap-teacher
    python tests/mutation/run_mutants.py --prefix gkd- distillm2- simpo-   # only the mutants whose ids start so
    python tests/mutation/run_mutants.py --prefix simpo- --tests tests/test_methods_beyond.py   # a quick check: a
        # mutant killed by a subset of the fast tests is killed by all of them (the run stops at a failure)

Exit status 0 when at least 90% are killed, 1 otherwise, 2 when the tests fail without any mutant.
Not part of `make test`: it runs the fast methods tests once per mutant (tens of minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The fast methods tests, quickest killers first (the run stops at the first failure).
FAST_TESTS = [
    "tests/test_methods_exact.py", "tests/test_methods_beyond.py", "tests/test_methods_losses.py", "tests/test_methods_adpa.py",
    "tests/test_methods_examples.py", "tests/test_methods_topk_store.py", "tests/test_methods_records.py",
    "tests/test_methods_devices.py", "tests/test_methods_generate.py", "tests/test_methods_precision.py",
    "tests/test_methods_train.py", "tests/test_methods_grad_accum.py", "tests/test_methods_on_policy.py",
]
KILL_TARGET = 0.9


@dataclass(frozen=True)
class Mutant:
    id: str
    what: str
    file: str  # relative to methods/
    edits: tuple[tuple[str, str], ...]  # (original text, mutated text); each original must occur exactly once
    survivor_note: str = ""


def m(id: str, what: str, file: str, *edits: tuple[str, str], note: str = "") -> Mutant:
    return Mutant(id, what, file, tuple(edits), note)


MUTANTS = [
    # --- signs of each term
    m("adpa-term-sign", "ADPA term added instead of subtracted", "adpa.py",
      ("loss = cfg.sft_weight * nll - cfg.adpa_weight * expected", "loss = cfg.sft_weight * nll + cfg.adpa_weight * expected")),
    m("dckd-kl-sign", "DCKD's KL terms subtracted", "dckd.py",
      ("loss = cfg.sft_weight * nll + cfg.distill_weight * (", "loss = cfg.sft_weight * nll - cfg.distill_weight * (")),
    m("nll-sign", "NLL with the wrong sign (log-likelihood minimised)", "losses.py",
      ("return -sequence_mean(token_logps(logits, labels), response_mask(labels)).mean()",
       "return sequence_mean(token_logps(logits, labels), response_mask(labels)).mean()")),
    m("dpo-sign", "DPO's sigmoid term on -margin", "losses.py",
      ("losses = -F.logsigmoid(margin) * (1 - label_smoothing)", "losses = -F.logsigmoid(-margin) * (1 - label_smoothing)")),
    m("advantage-sign", "advantage as log p_baseline - log p_dpo", "topk.py",
      ("adv = top_dpo.clamp(min=LOG_ADVANTAGE_FLOOR) - base_at_ids.clamp(min=LOG_ADVANTAGE_FLOOR)",
       "adv = base_at_ids.clamp(min=LOG_ADVANTAGE_FLOOR) - top_dpo.clamp(min=LOG_ADVANTAGE_FLOOR)")),
    # --- swapped pairs
    m("dpo-swap", "DPO's chosen and rejected log-probs swapped", "dpo.py",
      ("chosen_logps, rejected_logps = halves(", "rejected_logps, chosen_logps = halves(")),
    m("dckd-swap-teacher", "DCKD's chosen and rejected teacher tensors swapped", "dckd.py",
      ('ids_c, ids_r = halves(out["teacher_ids"])', 'ids_r, ids_c = halves(out["teacher_ids"])'),
      ('probs_c, probs_r = halves(out["teacher_probs"])', 'probs_r, probs_c = halves(out["teacher_probs"])'),
      ('tail_c, tail_r = halves(out["teacher_tail"])', 'tail_r, tail_c = halves(out["teacher_tail"])')),
    m("adpa-swap-advantages", "ADPA reads the advantages of the chosen half", "adpa.py",
      ('_, adv_s = halves(out["advantages"])', 'adv_s, _ = halves(out["advantages"])')),
    m("adpa-nll-on-sample", "ADPA's NLL on the student's sample instead of the chosen answer", "adpa.py",
      ("nll = nll_loss(logits_c, labels_c)", "nll = nll_loss(logits_s, labels_s)")),
    m("dckd-nll-on-rejected", "DCKD's NLL on the rejected answer", "dckd.py",
      ("nll = nll_loss(logits_c, labels_c)", "nll = nll_loss(logits_r, labels_r)")),
    m("collator-swap", "pair batches stacked [second; chosen]", "batching.py",
      ('responses = [e["chosen_ids"] for e in examples] + [e[f"{self.second}_ids"] for e in examples]',
       'responses = [e[f"{self.second}_ids"] for e in examples] + [e["chosen_ids"] for e in examples]')),
    # --- weights and coefficients
    m("dckd-rejected-weight", "KL_r weighted by the chosen weight", "dckd.py",
      ("cfg.rejected_distill_weight * kl_r", "cfg.chosen_distill_weight * kl_r")),
    m("dpo-beta-missing", "DPO margin without beta", "losses.py",
      ("margin = beta * (chosen_logratio - rejected_logratio)", "margin = chosen_logratio - rejected_logratio")),
    m("dpo-label-smoothing", "label smoothing on the wrong side", "losses.py",
      ("- F.logsigmoid(-margin) * label_smoothing", "- F.logsigmoid(margin) * label_smoothing")),
    m("dpo-wrong-reference", "rejected log-ratio against the chosen reference log-prob", "losses.py",
      ("rejected_logratio = policy_rejected_logps - ref_rejected_logps", "rejected_logratio = policy_rejected_logps - ref_chosen_logps")),
    m("clip-on-by-default", "ADPA advantages clipped to [0, 1] by default", "base.py",
      ('adpa_clip: str = "none"', 'adpa_clip: str = "0,1"')),
    # --- alignment, masks and reductions
    m("label-shift", "labels not shifted (logit t scored against token t)", "base.py",
      ('labels = batch["labels"][:, 1:]', 'labels = batch["labels"][:, :-1]')),
    m("teacher-shift", "per-token teacher tensors not shifted with the labels", "base.py",
      ("out[key] = batch[key][:, 1:][:, a:b]", "out[key] = batch[key][:, :-1][:, a:b]")),
    m("columns-drop-last", "the last response column cropped away", "batching.py",
      ("return int(cols[0]), int(cols[-1]) + 1", "return int(cols[0]), int(cols[-1])")),
    m("placement-drops-last", "the last per-token entry of each response not placed", "batching.py",
      ('n = min(_as_tensor(entry["ids"]).shape[0], width - start)', 'n = min(_as_tensor(entry["ids"]).shape[0], width - start) - 1')),
    m("mask-dropped", "token log-probs not masked (prompt and padding scored)", "losses.py",
      ("return (picked - lse) * mask", "return picked - lse")),
    m("no-normaliser", "log-prob without the log-sum-exp", "losses.py",
      ("return (picked - lse) * mask", "return picked * mask")),
    m("sum-not-mean", "per-sequence sum instead of token mean", "losses.py",
      ("return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)", "return (values * mask).sum(-1)")),
    m("batch-token-mean", "NLL as one token mean over the whole batch", "losses.py",
      ("return -sequence_mean(token_logps(logits, labels), response_mask(labels)).mean()",
       "return -(token_logps(logits, labels).sum() / response_mask(labels).sum())")),
    m("grad-accum-sum", "gradient accumulation sums micro-batches", "trainer.py",
      ("self.model_accepts_loss_kwargs = False", "self.model_accepts_loss_kwargs = True")),
    # --- the tail bin and ids beyond the student's width
    m("tail-bin-dropped", "DCKD's tail bin left out of the KL", "losses.py",
      ("+ torch.xlogy(tail_p, tail_p) - tail_p * log_tail_q", "")),
    m("precompute-tail-dropped", "the teacher store's tail mass written as 0", "topk.py",
      ("tail = (1.0 - probs.sum(-1)).clamp(min=0.0)", "tail = torch.zeros_like(probs[..., 0])")),
    m("precompute-renormalised", "teacher top-K probabilities renormalised over the K", "topk.py",
      ("probs = (top_logits - torch.logsumexp(logits, -1, keepdim=True)).exp()", "probs = top_logits.softmax(-1)")),
    m("out-of-width-not-in-tail", "teacher mass of ids beyond the student's width dropped, not moved to the tail", "losses.py",
      ("tail_p = (teacher_tail.to(logq.dtype) + (p_all - p).sum(-1)).clamp(min=0.0)", "tail_p = teacher_tail.to(logq.dtype).clamp(min=0.0)")),
    m("out-of-width-read-as-token-0", "ids beyond the student's width read the logit of token 0", "losses.py",
      ('logq = (logits.gather(-1, safe_ids) - lse).masked_fill(~in_width, float("-inf"))', "logq = logits.gather(-1, safe_ids) - lse")),
    # --- advantages: reference model and floor
    m("advantage-vs-dpo-teacher", "advantages measured against the DPO teacher itself", "topk.py",
      ("baseline_logits, _ = _response_logits(baseline_model, batch, pad_id)", "baseline_logits, _ = _response_logits(dpo_model, batch, pad_id)")),
    m("floor-default-dpo-min", "advantage floor defaults to the DPO teacher's minimum", "topk.py",
      ('def advantages_from_logits(dpo_logits: torch.Tensor, baseline_logits: torch.Tensor, k: int, floor: str = "baseline_min"):',
       'def advantages_from_logits(dpo_logits: torch.Tensor, baseline_logits: torch.Tensor, k: int, floor: str = "dpo_min"):'),
      ('k: int = DEFAULT_K, floor: str = "baseline_min",', 'k: int = DEFAULT_K, floor: str = "dpo_min",')),
    m("floor-source-swapped", "the baseline_min floor taken from the DPO teacher", "topk.py",
      ('floor_source = base_top if floor == "baseline_min" else top_dpo', 'floor_source = top_dpo')),
    # --- precision
    m("fp32-head-off", "the LM head is never made fp32", "lm_head.py",
      ("        head.__class__ = Fp32Linear\n        return True", "        return True")),
    m("fp32-head-autocast", "the fp32 head leaves autocast on", "lm_head.py",
      ("with torch.autocast(device_type=x.device.type, enabled=False):", "with contextlib.nullcontext():")),
    m("reference-numerics", "DPO reference log-probs ignore the training autocast", "topk.py",
      ("with autocast(bf16_autocast, labels.device):", "with autocast(False, labels.device):")),
    m("bf16-weights-accepted", "the Trainer accepts bf16 trainable weights", "trainer.py",
      ("        check_trainable_fp32(model)\n", "")),
    m("policy-ignored", "training_arguments ignores the policy (never autocast)", "trainer.py",
      ("bf16 = precision.train_autocast(device)", "bf16 = False")),
    # --- tokenizer pair and devices
    m("eos-unchecked", "teacher and student EOS ids not compared", "tokenize.py",
      ('MATCHING_IDS = ("eos_token_id", "bos_token_id")', 'MATCHING_IDS = ("bos_token_id",)')),
    m("batch-not-moved", "precompute batches stay on the CPU", "topk.py",
      ("batch = to_model_device(batch, model)", "batch = batch")),
    m("vocab-ids-uncompared", "tokenizer check compares tokens, not their ids", "tokenize.py",
      ("if s_id != t_id:", "if s_id is None:")),
    # --- second round: subtler mutants (floors, generation, bookkeeping)
    m("student-prob-floor", "student top-K probabilities floored at 1e-3 instead of 1e-7", "losses.py",
      ("PROB_FLOOR = 1e-7", "PROB_FLOOR = 1e-3")),
    m("student-tail-floor", "student tail bin floored at 1e-2 instead of 1e-7", "losses.py",
      ("tail = (1.0 - logq.exp().sum(-1)).clamp(min=PROB_FLOOR)", "tail = (1.0 - logq.exp().sum(-1)).clamp(min=1e-2)")),
    m("generate-drops-eos", "generated samples lose their EOS", "generate.py",
      ("tokens = tokens[: tokens.index(eos_id) + 1]", "tokens = tokens[: tokens.index(eos_id)]")),
    m("generate-head-not-restored", "the CPU generation head is left in place", "lm_head.py",
      ("            model.set_output_embeddings(head)", "            pass")),
    m("fp32-head-last-slice", "the up-cast head skips its last vocabulary slice", "lm_head.py",
      ("for start in range(0, self.out_features, VOCAB_CHUNK):", "for start in range(0, self.out_features - VOCAB_CHUNK, VOCAB_CHUNK):")),
    m("dpo-accuracy-metric", "rewards/accuracies counts rejected wins", "dpo.py",
      ('"rewards/accuracies": (chosen_rewards > rejected_rewards)', '"rewards/accuracies": (chosen_rewards < rejected_rewards)')),
    m("samples-not-used", "ADPA pairs keep the dataset's rejected answer instead of the sample", "examples.py",
      ('"sample_ids": list(s), **kept}', '"sample_ids": e["rejected_ids"], **kept}')),
    # --- the methods beyond the paper (GKD, DistiLLM-2, SimPO)
    m("gkd-lambda-swapped", "GKD's lambda weighs the chosen answers instead of the samples", "gkd.py",
      ("loss = s.lmbda * on_samples + (1.0 - s.lmbda) * on_chosen", "loss = s.lmbda * on_chosen + (1.0 - s.lmbda) * on_samples")),
    m("gkd-mixture-wrong-side", "GKD's mixture M = (1 - beta) p + beta q", "beyond_losses.py",
      ("logm = _mixture_log(beta, logp, logq)", "logm = _mixture_log(1.0 - beta, logp, logq)")),
    m("gkd-forward-kl-reversed", "GKD's beta = 0 end point as the reverse KL", "beyond_losses.py",
      ("        per_token = _kl(p, logp, logq, mask)\n", "        per_token = _kl(q, logq, logp, mask)\n")),
    m("gkd-temperature-ignored", "the student's logits not divided by the temperature", "beyond_losses.py",
      ("z = logits / temperature if temperature != 1.0 else logits", "z = logits")),
    m("gkd-teacher-not-sharpened", "the teacher's probabilities not sharpened by the temperature", "beyond_losses.py",
      ("    if temperature != 1.0:\n        mass", "    if False:\n        mass")),
    m("distillm2-skl-skew-wrong-side", "SKL's mixture (1 - alpha) p + alpha q", "beyond_losses.py",
      ("_kl(p, logp, _mixture_log(alpha, logp, logq), mask)", "_kl(p, logp, _mixture_log(1.0 - alpha, logp, logq), mask)")),
    m("distillm2-srkl-skew-wrong-side", "SRKL's mixture alpha p + (1 - alpha) q", "beyond_losses.py",
      ("mixture = _mixture_log(1.0 - alpha, logp, ", "mixture = _mixture_log(alpha, logp, ")),
    m("distillm2-srkl-sign", "DistiLLM-2's student-side term subtracted", "distillm2.py",
      ("else 0.5 * (skl + srkl)", "else 0.5 * (skl - srkl)")),
    m("distillm2-released-not-detached", "the released-code variant's SRKL mixture keeps the student's gradient",
      "beyond_losses.py", ("logq.detach() if detach_mixture_student else logq", "logq")),
    m("distillm2-released-averaged", "the released-code variant averages its two terms", "distillm2.py",
      ("loss = skl + srkl if released", "loss = 0.5 * (skl + srkl) if released")),
    m("distillm2-swap-teacher", "DistiLLM-2 reads the chosen side's teacher top-K on the samples", "distillm2.py",
      ('ids_c, ids_s = halves(out["teacher_ids"])', 'ids_s, ids_c = halves(out["teacher_ids"])'),
      ('probs_c, probs_s = halves(out["teacher_probs"])', 'probs_s, probs_c = halves(out["teacher_probs"])'),
      ('tail_c, tail_s = halves(out["teacher_tail"])', 'tail_s, tail_c = halves(out["teacher_tail"])')),
    m("distillm2-teacher-tail-dropped", "the teacher's tail mass left out of the rest bin", "beyond_losses.py",
      ("p_rest = (teacher_tail.to(dtype) + (probs - p_k).sum(-1)).clamp(min=0.0)", "p_rest = (probs - p_k).sum(-1).clamp(min=0.0)")),
    m("gkd-onpolicy-one-stream", "every redrawn micro-batch samples with the same random streams", "on_policy.py",
      ("seed=item_seed(self.seed, index), first_item", "seed=item_seed(self.seed, 0), first_item")),
    m("gkd-onpolicy-batch-kept", "the redrawn samples never reach the loss (the cached batch is trained on)", "trainer.py",
      ("                inputs = self.data_collator.collator(fresh)", "                pass")),
    m("simpo-sign", "SimPO's sigmoid term on -margin", "beyond_losses.py",
      ("losses = -F.logsigmoid(margin) * (1 - label_smoothing)", "losses = -F.logsigmoid(-margin) * (1 - label_smoothing)")),
    m("simpo-no-length-normalisation", "SimPO's reward on the summed, not length-averaged, log-likelihood", "beyond_losses.py",
      ("    return sequence_mean(token_logps(logits, labels), response_mask(labels))\n", "    return token_logps(logits, labels).sum(-1)\n")),
    m("simpo-gamma-sign", "SimPO's target margin added instead of subtracted", "beyond_losses.py",
      ("margin = beta * (chosen_avg_logps - rejected_avg_logps) - gamma", "margin = beta * (chosen_avg_logps - rejected_avg_logps) + gamma")),
    m("simpo-swap", "SimPO's chosen and rejected halves swapped", "simpo.py",
      ('chosen, rejected = halves(average_logps(out["logits"], out["labels"]))', 'rejected, chosen = halves(average_logps(out["logits"], out["labels"]))')),
    m("samples-per-prompt-interleaved", "several samples per prompt read as j * n_prompts + i", "examples.py",
      ("for s in samples[i * per_prompt:(i + 1) * per_prompt]:", "for s in samples[i::len(examples)]:")),
    m("gkd-default-temperature", "GKD's default temperature 1.0 instead of TRL's 0.9", "gkd.py",
      ("temperature: float = 0.9", "temperature: float = 1.0")),
    m("logps-out-of-order", "sequence log-probs written back in sorted rather than batch order", "topk.py",
      ("for i, value in zip(idx, sequence_logps(logits, labels).tolist()):", "for i, value in zip(sorted(idx), sequence_logps(logits, labels).tolist()):")),
]


class MutantError(RuntimeError):
    pass


def apply(mutant: Mutant, package: Path) -> None:
    path = package / mutant.file
    text = path.read_text()
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise MutantError(f"mutant {mutant.id}: {mutant.file} holds {count} copies of {old!r} (expected 1): update the mutant")
        text = text.replace(old, new)
    path.write_text(text)


def _env() -> dict:
    # cwd (the temporary copy) comes first on sys.path under `python -m`; bench and the tests come from ROOT.
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONDONTWRITEBYTECODE": "1"}


def run_tests(workdir: Path, timeout: int, tests: list[str] = FAST_TESTS) -> tuple[str, str]:
    """("killed" | "survived" | "timeout", the first failing test or a note)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-m", "not slow", "-p", "no:cacheprovider", "-rf", "--no-header",
           "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), *[str(ROOT / t) for t in tests]]
    try:
        done = subprocess.run(cmd, cwd=workdir, env=_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"no result within {timeout} s"
    if done.returncode == 0:
        return "survived", ""
    failed = [line.split(" ", 1)[1].split(" - ")[0] for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    first = failed[0][failed[0].find("tests/"):] if failed else f"pytest exit status {done.returncode}"
    return "killed", first


def fresh_copy(tmp: Path) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="mutant-", dir=tmp))
    shutil.copytree(ROOT / "methods", workdir / "methods", ignore=shutil.ignore_patterns("__pycache__"))
    return workdir


def check_isolation(workdir: Path) -> None:
    found = subprocess.run([sys.executable, "-c", "import methods; print(methods.__file__)"], cwd=workdir, env=_env(),
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(workdir.resolve()):
        raise SystemExit(f"the tests would import {found}, not the mutated copy in {workdir}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="mutant ids to run")
    parser.add_argument("--prefix", nargs="+", help="run only the mutants whose id starts with one of these")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--tests", nargs="+", default=FAST_TESTS, help="test files to run (default: the fast methods tests)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per mutant")
    args = parser.parse_args(argv)
    mutants = [mu for mu in MUTANTS if (not args.only or mu.id in args.only)
               and (not args.prefix or mu.id.startswith(tuple(args.prefix)))]
    if args.only and len(mutants) != len(set(args.only)):
        raise SystemExit(f"unknown mutant ids: {sorted(set(args.only) - {mu.id for mu in MUTANTS})}")
    if args.list:
        for mu in mutants:
            print(f"{mu.id:32} {mu.file:12} {mu.what}")
        return 0
    with tempfile.TemporaryDirectory(prefix="methods-mutation-") as tmp:
        baseline = fresh_copy(Path(tmp))
        check_isolation(baseline)
        for mu in mutants:  # every patch must apply before anything runs
            apply(mu, fresh_copy(Path(tmp)) / "methods")
        start = time.monotonic()
        status, note = run_tests(baseline, args.timeout, args.tests)
        print(f"baseline (no mutant): {'tests pass' if status == 'survived' else status + ' ' + note} "
              f"({time.monotonic() - start:.0f} s)", flush=True)
        if status != "survived":
            return 2
        rows = []
        for mu in mutants:
            workdir = fresh_copy(Path(tmp))
            apply(mu, workdir / "methods")
            start = time.monotonic()
            status, note = run_tests(workdir, args.timeout, args.tests)
            rows.append((mu, status, note, time.monotonic() - start))
            print(f"  {mu.id:32} {status:8} {time.monotonic() - start:5.0f} s  {note}", flush=True)
            shutil.rmtree(workdir, ignore_errors=True)
    killed = sum(status == "killed" for _, status, _, _ in rows)
    print("\n| mutant | file | what | result | first failing test |\n|---|---|---|---|---|")
    for mu, status, note, _ in rows:
        print(f"| {mu.id} | {mu.file} | {mu.what} | {status} | {note or mu.survivor_note or '(no note)'} |")
    print(f"\nkilled {killed} / {len(rows)} = {killed / len(rows):.1%} (target {KILL_TARGET:.0%})")
    for mu, status, _, _ in rows:
        if status != "killed":
            print(f"survivor {mu.id}: {mu.survivor_note or 'NOT EXPLAINED'}")
    return 0 if killed >= KILL_TARGET * len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
