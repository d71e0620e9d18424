"""What is measured: the model, the shared synthetic batch and one training-step case per trainer.

Every training case trains a fresh copy of the same model on the same token ids: ``n_sequences`` rows of
``seq_len`` tokens, a quarter prompt and three quarters response. Preference cases see them as
``n_sequences / 2`` chosen/rejected pairs (a method that pairs the chosen answer with a student sample, ADPA or GKD,
sees the rejected row as that sample, with random advantages or teacher top-K on it); the SFT cases see the same
rows as SFT examples. A step is the
trainer's own ``training_step`` (input preparation, its ``compute_loss``, backward) followed by the same
gradient clipping, AdamW step, scheduler step and ``zero_grad`` the Trainer's loop does, on both sides.

GKD is measured twice on the same pairs, each pair's rejected row standing in for its student sample: once on those
cached samples (its default), once with every micro-batch's samples redrawn from the student being trained
(``resample_every = 1``, methods.on_policy) and scored by a frozen teacher, so the ratio of the two is what the
on-policy loop costs per step. Sampling never stops early (no end-of-sequence id), so a redrawn sample has exactly the
response length of the cached one and both sides train on the same number of tokens.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from methods.base import ADVANTAGES, SAMPLE_TOPK, TEACHER_TOPK, LossConfig
from methods.batching import SFTCollator
from methods.devices import to_model_device
from methods.precision import Precision
from methods.on_policy import OnPolicySamples
from methods.registry import get_method
from methods.topk import precompute_sequence_logps
from methods.trainer import MethodTrainer

from bench import models

TRAIN_CASES = ("sft_ours", "sft_trl", "dpo_ours", "dpo_trl", "dckd_ours", "adpa_ours", "gkd_ours", "gkd_on_policy")
LEARNING_RATE = 5e-7
TOPK = 50
# Danube3-500M's published shape (h2oai/h2o-danube3-500m-base config); weights are random, nothing is downloaded.
DANUBE3_500M_SHAPE = dict(hidden_size=1536, intermediate_size=4096, num_hidden_layers=16, num_attention_heads=16,
                          num_key_value_heads=8, vocab_size=32000, max_position_embeddings=8192, rope_theta=100000.0,
                          tie_word_embeddings=False)
DANUBE_ALIAS = "danube3-500m-random"


@dataclass(frozen=True)
class PerfConfig:
    model: str = "smollm2-8l"
    device: str = "cpu"
    n_sequences: int = 8
    seq_len: int = 256
    repeats: int = 5
    warmup: int = 1
    gen_new_tokens: int = 64
    gen_batch: int = 8
    seed: int = 0

    # The production precision policy (methods.precision.Precision()): frozen models (precompute, generation) in
    # its frozen dtype, trained models in fp32 under bf16 autocast, on a bf16 GPU; fp32 throughout on a CPU.
    @property
    def dtype(self) -> torch.dtype:
        return Precision().frozen_dtype(self.device)

    @property
    def bf16(self) -> bool:
        return Precision().train_autocast(self.device)

    @property
    def prompt_len(self) -> int:
        return max(1, self.seq_len // 4)

    @property
    def response_len(self) -> int:
        return self.seq_len - self.prompt_len

    def to_dict(self) -> dict:
        return asdict(self)

    def __post_init__(self):
        if self.n_sequences < 2 or self.n_sequences % 2:
            raise ValueError(f"n_sequences must be an even number >= 2 (chosen/rejected pairs), got {self.n_sequences}")
        if self.seq_len < 4:
            raise ValueError(f"seq_len must be at least 4, got {self.seq_len}")
        if self.repeats < 1 or self.warmup < 0:
            raise ValueError("repeats must be >= 1 and warmup >= 0")


def load_tokenizer(cfg: PerfConfig):
    return models.load_tokenizer("smollm2-8l" if cfg.model == DANUBE_ALIAS else cfg.model)


def load_model(cfg: PerfConfig, role: str = "frozen"):
    """A fresh copy of the measured model on the measured device (random Danube3-500M shape for
    ``danube3-500m-random``): fp32 when it is trained (``role="trainable"``), else the policy's frozen dtype."""
    dtype = torch.float32 if role == "trainable" else cfg.dtype
    if cfg.model != DANUBE_ALIAS:
        return models.load_model(cfg.model, role, dtype=dtype, device=cfg.device)
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(cfg.seed)
    config = LlamaConfig(bos_token_id=1, eos_token_id=2, pad_token_id=2, **DANUBE3_500M_SHAPE)
    return LlamaForCausalLM(config).to(device=cfg.device, dtype=dtype)


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())  # tied embeddings counted once: the LM-head matmul is real work


def synthetic_pairs(cfg: PerfConfig, vocab_size: int, special_ids: set[int]) -> list[dict]:
    """Seeded random token ids (no special tokens) with random but valid teacher top-K entries."""
    g = torch.Generator().manual_seed(cfg.seed)
    low = max(special_ids | {0}) + 1  # SmolLM2's special tokens are its first ids; skip them
    ids = lambda n: torch.randint(low, vocab_size, (n,), generator=g).tolist()

    def teacher(n: int) -> dict:
        top_ids = torch.stack([torch.randperm(vocab_size, generator=g)[:TOPK] for _ in range(n)]).to(torch.int32)
        probs = torch.softmax(torch.randn(n, TOPK + 1, generator=g) * 2, -1).sort(-1, descending=True).values
        return {"ids": top_ids, "probs": probs[:, :TOPK].contiguous(), "tail": probs[:, TOPK].contiguous()}

    pairs = []
    for _ in range(cfg.n_sequences // 2):
        rejected_topk = teacher(cfg.response_len)
        advantages = {"ids": rejected_topk["ids"], "advantages": torch.randn(cfg.response_len, TOPK, generator=g)}
        pairs.append({"prompt_ids": ids(cfg.prompt_len), "chosen_ids": ids(cfg.response_len),
                      "rejected_ids": ids(cfg.response_len), "chosen_teacher_topk": teacher(cfg.response_len),
                      "rejected_teacher_topk": rejected_topk, "rejected_advantages": advantages})
    return pairs


def pair_examples(method, pairs: list[dict]) -> list[dict]:
    """The pairs as the method's collator reads them, holding only the per-token entries the method declares it needs
    (as the pipeline gives them): a method that pairs the chosen answer with a student sample (ADPA, GKD) gets the
    rejected row as that sample."""
    second = method.second
    examples = []
    for p in pairs:
        e = {"prompt_ids": p["prompt_ids"], "chosen_ids": p["chosen_ids"], f"{second}_ids": p["rejected_ids"]}
        if TEACHER_TOPK in method.needs:  # the DPO teacher's top-K on the data set's answers
            e["chosen_teacher_topk"] = p["chosen_teacher_topk"]
            if second == "rejected":
                e["rejected_teacher_topk"] = p["rejected_teacher_topk"]
        if SAMPLE_TOPK in method.needs:
            e["sample_teacher_topk"] = p["rejected_teacher_topk"]
        if ADVANTAGES in method.needs:
            e["sample_advantages"] = p["rejected_advantages"]
        examples.append(e)
    return examples


def sft_rows(pairs: list[dict]) -> list[tuple[list[int], list[int]]]:
    """The same token rows as the preference batch ([chosen; rejected]), as (prompt, response) SFT examples."""
    return [(p["prompt_ids"], p["chosen_ids"]) for p in pairs] + [(p["prompt_ids"], p["rejected_ids"]) for p in pairs]


@dataclass
class StepCase:
    name: str
    step: Callable[[], object]
    tokens: int  # non-padding tokens processed per step
    model: object
    keep: tuple = ()  # objects that must outlive the case (trainers, reference models, temp dirs)


def _optimizer_step(trainer) -> Callable[[], None]:
    """The part of the Trainer's inner loop that follows training_step, identical on both sides."""
    def finish() -> None:
        if trainer.args.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), trainer.args.max_grad_norm)
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
        trainer.model.zero_grad(set_to_none=True)
    return finish


def _stepper(trainer, batch: dict) -> Callable[[], torch.Tensor]:
    trainer.create_optimizer_and_scheduler(num_training_steps=1000)
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's own loop, which we do not run
    finish = _optimizer_step(trainer)

    def step() -> torch.Tensor:
        loss = trainer.training_step(trainer.model, dict(batch))
        finish()
        return loss
    return step


def _common_args(cfg: PerfConfig) -> dict:
    return dict(learning_rate=LEARNING_RATE, per_device_train_batch_size=cfg.n_sequences, gradient_accumulation_steps=1,
                lr_scheduler_type="cosine", warmup_steps=0.1, max_grad_norm=1.0, optim="adamw_torch", bf16=cfg.bf16,
                activation_checkpointing=False, report_to=[], save_strategy="no", disable_tqdm=True,
                dataloader_num_workers=0, seed=cfg.seed, use_cpu=not cfg.device.startswith("cuda"))


NO_EOS = -1  # an end-of-sequence id no token has: generation never stops early, every output has the asked length


def silence_no_eos_warning() -> None:
    """Generating with NO_EOS is deliberate here; transformers would warn about it at every generate call."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def _on_policy_sampler(cfg: PerfConfig, method, pad_id: int) -> OnPolicySamples:
    """GKD's redraw at every micro-batch (resample_every = 1), a frozen copy of the measured model standing in for the
    DPO teacher. NO_EOS: a sample has the cached one's length (the same tokens)."""
    silence_no_eos_warning()
    teacher = load_model(cfg).eval()
    settings = method.settings(LossConfig())
    return OnPolicySamples(teacher, pad_id, NO_EOS, cfg.response_len, cfg.seq_len, settings.temperature,
                           settings.top_p, TOPK, cfg.seed, every=1)


def _ours(cfg: PerfConfig, method_name: str, pairs: list[dict], tokenizer, out_dir: str,
          redraw: bool = False) -> StepCase:
    from transformers import TrainingArguments

    method = get_method(method_name)
    model = load_model(cfg, "trainable")
    pad = tokenizer.pad_token_id
    sampler = _on_policy_sampler(cfg, method, pad) if redraw else None  # the trainer keeps it, and it the teacher
    if method.data == "sft":
        collator = SFTCollator(pad)
        examples = [{"prompt_ids": p, "response_ids": r} for p, r in sft_rows(pairs)]
    else:
        collator = method.collator(pad)
        examples = pair_examples(method, pairs)
        if method_name == "dpo":  # reference log-probs precomputed by the initial model, as the pipeline does
            rows = [{"prompt_ids": p, "response_ids": r} for p, r in sft_rows(pairs)]
            logps = precompute_sequence_logps(model, rows, pad, bf16_autocast=cfg.bf16)
            n = len(pairs)
            for i, e in enumerate(examples):
                e["ref_chosen_logps"], e["ref_rejected_logps"] = logps[i], logps[n + i]
    args = TrainingArguments(output_dir=out_dir, remove_unused_columns=False, **_common_args(cfg))
    trainer = MethodTrainer(model=model, args=args, method=method, loss_config=LossConfig(), processing_class=tokenizer,
                            data_collator=collator, on_policy=sampler)
    batch = trainer.data_collator(examples)  # with a redraw, it also keeps the examples whose samples are redrawn
    tokens = int(batch["attention_mask"].sum())
    return StepCase(f"{method_name}_on_policy" if redraw else f"{method_name}_ours", _stepper(trainer, batch), tokens,
                    model, (trainer,))


def _init_row(tokenizer, cfg: PerfConfig, *response_fields: str) -> dict:
    """A one-row text dataset for TRL's constructors, whose token ids every model here can embed."""
    row = {"prompt": "a", **{field: text for field, text in zip(response_fields, (" b", " c"))}}
    vocab = vocab_size(cfg, tokenizer)
    for text in row.values():
        if max(tokenizer(text)["input_ids"], default=0) >= vocab:
            raise RuntimeError(f"tokenizer maps {text!r} beyond the model's vocabulary ({vocab}); pick another init text")
    return row


def _trl_sft(cfg: PerfConfig, pairs: list[dict], tokenizer, out_dir: str) -> StepCase:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model = load_model(cfg, "trainable")
    # A one-row dataset satisfies the constructor; the timed batch is built by TRL's own collator below.
    init_data = Dataset.from_list([_init_row(tokenizer, cfg, "completion")])
    args = SFTConfig(output_dir=out_dir, max_length=None, completion_only_loss=True, **_common_args(cfg))
    trainer = SFTTrainer(model=model, args=args, train_dataset=init_data, processing_class=tokenizer)
    rows = [{"input_ids": p + r, "labels": [-100] * len(p) + r} for p, r in sft_rows(pairs)]
    batch = trainer.data_collator(rows)
    tokens = int(batch["attention_mask"].sum())
    return StepCase("sft_trl", _stepper(trainer, batch), tokens, model, (trainer,))


def _trl_dpo(cfg: PerfConfig, pairs: list[dict], tokenizer, out_dir: str) -> StepCase:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    model, ref_model = load_model(cfg, "trainable"), load_model(cfg)
    init_data = Dataset.from_list([_init_row(tokenizer, cfg, "chosen", "rejected")])
    args = DPOConfig(output_dir=out_dir, beta=LossConfig().beta, loss_type=["sigmoid"], precompute_ref_log_probs=True,
                     max_length=None, **_common_args(cfg))
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=init_data, processing_class=tokenizer)
    examples = [{k: p[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")} for p in pairs]
    batch = trainer.data_collator(examples)
    # Exactly what TRL's own precompute does for each dataset batch, on our batch.
    moved = to_model_device(batch, model)
    ref_chosen, ref_rejected = trainer.compute_ref_log_probs(trainer.ref_model or model, moved)
    batch["ref_chosen_logps"], batch["ref_rejected_logps"] = ref_chosen.cpu(), ref_rejected.cpu()
    tokens = int(batch["attention_mask"].sum())
    return StepCase("dpo_trl", _stepper(trainer, batch), tokens, model, (trainer, ref_model))


def build_case(cfg: PerfConfig, name: str, pairs: list[dict], tokenizer) -> StepCase:
    if name not in TRAIN_CASES:
        raise ValueError(f"unknown training case {name!r}; known: {', '.join(TRAIN_CASES)}")
    out_dir = tempfile.mkdtemp(prefix=f"bench-perf-{name}-")  # the Trainer wants one; nothing is saved there
    if name == "sft_trl":
        case = _trl_sft(cfg, pairs, tokenizer, out_dir)
    elif name == "dpo_trl":
        case = _trl_dpo(cfg, pairs, tokenizer, out_dir)
    elif name == "gkd_on_policy":
        case = _ours(cfg, "gkd", pairs, tokenizer, out_dir, redraw=True)
    else:
        case = _ours(cfg, name.removesuffix("_ours"), pairs, tokenizer, out_dir)
    case.keep = case.keep + (out_dir,)
    return case


def vocab_size(cfg: PerfConfig, tokenizer) -> int:
    """Ids every side can embed: the smaller of the model's and the tokenizer's vocabularies."""
    if cfg.model == DANUBE_ALIAS:
        model_vocab = DANUBE3_500M_SHAPE["vocab_size"]
    else:
        from transformers import AutoConfig

        model_vocab = AutoConfig.from_pretrained(models.materialise(cfg.model)).vocab_size
    return min(model_vocab, len(tokenizer))


def make_pairs(cfg: PerfConfig, tokenizer) -> list[dict]:
    return synthetic_pairs(cfg, vocab_size(cfg, tokenizer), set(tokenizer.all_special_ids))
