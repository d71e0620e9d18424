"""Reward-model scoring and a pairwise judge built on it.

Any ``AutoModelForSequenceClassification`` with one output is a reward model here. A (prompt, response)
chat is rendered with the reward model's OWN chat template, and a leading BOS string is removed when the
tokenizer adds BOS itself, so BOS is not doubled: this is how the FsfairX-LLaMA3-RM authors score
(``apply_chat_template(..., tokenize=False).replace(bos_token, "")`` fed to a text-classification
pipeline with ``function_to_apply="none"``). The reward is the raw logit of the scoring head: no sigmoid.

Batching pads on the right; the head reads the last non-pad token, so a sequence whose last token
equals the pad token is scored alone (as batch size 1 would), keeping batched scores equal to the
authors' batch-size-1 scores.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

from methods.tokenize import ensure_chat_template

from bench.models import default_device, materialise, role_dtype

from .base import Judge, PairRequest, Preference, Rating, RatingRequest


def adds_bos(tokenizer) -> bool:
    probe = tokenizer("x").input_ids
    return bool(tokenizer.bos_token) and bool(probe) and probe[0] == tokenizer.bos_token_id


def render_chat(tokenizer, prompt: list[dict], response: str) -> str:
    """The (prompt, response) chat in the tokenizer's chat template, without a BOS the tokenizer adds again."""
    text = tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": response}], tokenize=False)
    if adds_bos(tokenizer) and text.startswith(tokenizer.bos_token):
        text = text[len(tokenizer.bos_token):]
    return text


def encode_chat(tokenizer, prompt: list[dict], response: str, max_length: int | None = None) -> list[int]:
    ids = tokenizer(render_chat(tokenizer, prompt, response), add_special_tokens=True).input_ids
    if max_length and len(ids) > max_length:  # keep the end: the score is read at the last token
        ids = ids[-max_length:]
    return ids


class RewardScorer:
    """A loaded reward model: ``score(prompts, responses)`` -> raw logits."""

    def __init__(self, model: str | Path, batch_size: int = 8, device: str | None = None, dtype=None, precision=None):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.spec = str(model)
        folder = materialise(str(model))
        device = device or default_device()
        # A reward model is only run: the precision policy's frozen dtype (bf16 on a bf16 GPU, as the FsfairX
        # authors score; fp32 on a CPU unless the policy rehearses bf16 there). ``dtype`` overrides the policy.
        dtype = dtype or role_dtype("frozen", precision, device)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.had_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        ensure_chat_template(self.tokenizer)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=dtype, use_safetensors=True).to(device)
        if self.model.config.num_labels != 1:
            raise ValueError(f"{model}: a reward model needs a scoring head with one output, "
                             f"this one has num_labels={self.model.config.num_labels}")
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.eval()
        self.batch_size = batch_size
        self.max_length = getattr(self.model.config, "max_position_embeddings", None)
        self.strips_bos = adds_bos(self.tokenizer)

    def describe(self) -> dict:
        return {"reward_model": self.spec, "output": "raw logit (no activation)",
                "chat_template": "reward model's own" if self.had_chat_template else "fallback (model has none)",
                "bos_removed_from_rendered_text": self.strips_bos, "dtype": str(self.model.dtype).replace("torch.", "")}

    def render(self, prompt: list[dict], response: str) -> str:
        return render_chat(self.tokenizer, prompt, response)

    def encode(self, prompt: list[dict], response: str) -> list[int]:
        """Token ids exactly as scored (also what the embedded reward model is trained on)."""
        return encode_chat(self.tokenizer, prompt, response, self.max_length)

    def score_ids(self, sequences: Sequence[list[int]], progress: Callable[[int], None] | None = None) -> list[float]:
        import torch

        from methods.devices import to_model_device  # deferred with torch: bench.judges stays light

        pad = self.model.config.pad_token_id
        out: list[float | None] = [None] * len(sequences)
        alone = [i for i, s in enumerate(sequences) if s and s[-1] == pad]
        batched = sorted((i for i, s in enumerate(sequences) if not (s and s[-1] == pad)), key=lambda i: -len(sequences[i]))
        groups = [batched[k:k + self.batch_size] for k in range(0, len(batched), self.batch_size)] + [[i] for i in alone]
        with torch.no_grad():
            for idx in groups:
                width = max(len(sequences[i]) for i in idx)
                input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    input_ids[row, :len(sequences[i])] = torch.as_tensor(sequences[i])
                    mask[row, :len(sequences[i])] = 1
                batch = to_model_device({"input_ids": input_ids, "attention_mask": mask}, self.model)
                logits = self.model(**batch).logits
                for row, i in enumerate(idx):
                    out[i] = float(logits[row, 0].float())
                if progress:
                    progress(len(idx))
        return out  # type: ignore[return-value]

    def score(self, prompts: Sequence[list[dict]], responses: Sequence[str],
              progress: Callable[[int], None] | None = None) -> list[float]:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        return self.score_ids([self.encode(p, r) for p, r in zip(prompts, responses)], progress)

    def close(self) -> None:
        self.model = None


class RewardModelJudge(Judge):
    """Judge id ``reward:<model>``: rates one answer with its raw reward and prefers the higher-scored of two.

    ``rate`` reads ``RatingRequest.messages`` as the conversation so far (the prompt) and ``response`` as the
    answer. ``prefer`` wraps ``PairRequest.instruction`` as one user turn; a tie within ``tie_margin`` is 1.5.
    """

    kind = "reward_model"

    def __init__(self, model: str | Path, batch_size: int = 8, tie_margin: float = 0.0, scorer: RewardScorer | None = None):
        super().__init__()
        self.id = f"reward:{model}"
        self.scorer = scorer or RewardScorer(model, batch_size=batch_size)
        self.tie_margin = tie_margin
        self.settings = {**self.scorer.describe(), "tie_margin": tie_margin, "batch_size": batch_size}

    def _safe_scores(self, prompts, responses, progress) -> tuple[list[float | None], str | None]:
        try:
            scores = self.scorer.score(prompts, responses, progress)
        except Exception as err:  # noqa: BLE001 - a judge reports failures, it does not raise them
            self.stats.add(request_failures=len(prompts))
            return [None] * len(prompts), f"request: {type(err).__name__}: {err}"
        bad = sum(1 for s in scores if not math.isfinite(s))
        if bad:
            self.stats.add(parse_failures=bad)
        return [s if math.isfinite(s) else None for s in scores], None

    def rate(self, requests: Sequence[RatingRequest], progress=None) -> list[Rating]:
        for r in requests:
            if r.messages is None or r.response is None:
                raise ValueError("a reward-model rating needs RatingRequest.messages (the prompt) and .response")
        scores, error = self._safe_scores([r.messages for r in requests], [r.response for r in requests], progress)
        return [Rating(s, None if s is None else f"{s:.6g}", error if s is None and error else
                       (None if s is not None else "parse: non-finite reward")) for s in scores]

    def prefer(self, requests: Sequence[PairRequest], progress=None) -> list[Preference]:
        prompts = [[{"role": "user", "content": r.instruction}] for r in requests]
        scores, error = self._safe_scores(prompts * 2, [r.output_1 for r in requests] + [r.output_2 for r in requests], progress)
        n = len(requests)
        out = []
        for a, b in zip(scores[:n], scores[n:]):
            if a is None or b is None:
                out.append(Preference(None, None, error or "parse: non-finite reward"))
            elif abs(a - b) <= self.tie_margin:
                out.append(Preference(1.5, f"{a:.6g} vs {b:.6g}"))
            else:
                out.append(Preference(1.0 if a > b else 2.0, f"{a:.6g} vs {b:.6g}"))
        return out

    def close(self) -> None:
        self.scorer.close()
