"""Train DPO (or GKD with every micro-batch's samples redrawn) a few steps on a tiny model and save the final
parameters (run directly or under accelerate launch).

Used by test_methods_accelerate.py: the same global batch split over N processes must give the same
parameters as one process. Data, reference log-probs, the teacher and the initial model are built deterministically.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.models import load_model, load_tokenizer  # noqa: E402
from methods.base import LossConfig  # noqa: E402
from methods.registry import get_method  # noqa: E402
from methods.trainer import train, training_arguments  # noqa: E402
from methods_helpers import dpo_examples  # noqa: E402
from methods.on_policy import OnPolicySamples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--per-device-batch", type=int, required=True)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--method", choices=("dpo", "gkd-on-policy"), default="dpo")
    a = parser.parse_args()

    args = training_arguments(os.path.join(a.out, "trainer"), learning_rate=1e-3, batch_size=a.per_device_batch, max_steps=a.steps,
                              warmup_ratio=0.0, scheduler="constant", use_cpu=True)
    if a.method == "dpo":
        tokenizer = load_tokenizer("tiny-random")
        model = load_model("tiny-random", device="cpu")
        reference = load_model("tiny-random", device="cpu")
        examples = dpo_examples(tokenizer, reference, a.examples)
        trainer = train(get_method("dpo"), model, examples, tokenizer.pad_token_id, LossConfig(beta=0.1), args)
    else:  # GKD on samples redrawn at every micro-batch: float64 GPT-2 student and teacher (test_methods_on_policy)
        from test_methods_beyond import distill_examples
        from test_methods_exact import PAD, f64_model

        model, teacher = f64_model(0), f64_model(1).eval()
        examples = distill_examples(full=False, seed=3) + distill_examples(full=False, seed=4)  # 8 pairs
        sampler = OnPolicySamples(teacher, PAD, 1, 6, 40, 0.9, 1.0, 5, 7, every=1)
        loss = LossConfig(settings={"temperature": 0.9, "top_p": 1.0, "resample_every": 1})
        trainer = train(get_method("gkd"), model, examples, PAD, loss, args, on_policy=sampler)
    on_policy = trainer.on_policy_summary()  # every process joins: it sums their counts
    if trainer.accelerator.is_main_process:
        params = {name: p.detach().clone().contiguous() for name, p in model.named_parameters()}
        out = Path(a.out) / "params.safetensors"
        tmp = out.with_name(out.name + ".tmp")
        save_file(params, str(tmp))
        os.replace(tmp, out)
        (Path(a.out) / "run.json").write_text(json.dumps({"world_size": trainer.args.world_size, "steps": trainer.state.global_step,
                                                          **({"on_policy": on_policy} if on_policy else {})}))


if __name__ == "__main__":
    main()
