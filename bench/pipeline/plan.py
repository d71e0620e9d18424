"""The stage graph of a run, derived from the methods' own declarations (methods.registry).

A method M becomes the training stage ``M``; its ``init`` ("base" / "sft" / "dckd") adds the training stage
of the method it starts from, and each of its ``needs`` adds the stages that provide it:

  ref_logps        -> computed inside M's stage from its initial weights (the frozen DPO reference)
  teacher_topk     -> teacher_topk <- dpo_teacher <- ref_teacher
  student_samples  -> samples_G, G = M.sample_generator ("sft" / "dckd") <- training stage G; greedy, one per prompt,
                      or, for a method with a sampling schedule (M.sampling), samples_G_<schedule tag>
  sample_topk      -> teacher_topk_<samples stage> <- that samples stage and dpo_teacher (GKD, DistiLLM-2)
  advantages       -> advantages_G <- samples_G, dpo_teacher and the advantage baseline (recipe:
                      advantages.baseline: the reference teacher, or the generating student)

The teacher stages are themselves method stages: ref_teacher = SFT of the teacher base model, dpo_teacher = DPO
of ref_teacher. Stages come out in dependency order; two methods that share a stage share its key and its
cached directory. Dependency roles name what a stage holds: ``init`` (the weights training starts from),
``advantage_baseline`` (the model advantages are measured against), ``reward_reference`` (the model an evaluated
model's implicit rewards are measured against). "Reference" alone means DPO's frozen reference only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from methods.base import ADVANTAGES, REF_LOGPS, SAMPLE_TOPK, STUDENT_SAMPLES, TEACHER_TOPK, LossConfig
from methods.registry import get_method

from bench.recipe import Recipe
from bench.results import TEACHER_ROWS

from .cache import stable_hash

# Bump a kind's version when its code changes what it writes: every cached stage of that kind is redone.
CODE_VERSIONS = {"train": "train-2", "topk": "topk-1", "samples": "samples-1", "advantages": "advantages-1", "eval": "eval-3",
                 "sample_topk": "sample-topk-1"}


@dataclass
class Stage:
    name: str
    kind: str  # train | topk | samples | sample_topk | advantages | eval
    role: str  # teacher | student: whose tokenizer and data view it uses
    deps: dict[str, str] = field(default_factory=dict)  # role in this stage -> stage name
    config: dict = field(default_factory=dict)
    base_model: str | None = None  # a training stage that starts from a base model (alias / hub id / folder)
    data: tuple[str, ...] = ()  # RunData kinds it reads
    key: str | None = None


class Planner:
    def __init__(self, recipe: Recipe, student: str, teacher: str, seed: int | None = None):
        self.recipe, self.student, self.teacher = recipe, student, teacher
        self.seed = recipe.seed if seed is None else seed
        self.stages: dict[str, Stage] = {}

    def _add(self, stage: Stage) -> str:
        if stage.name not in self.stages:
            self.stages[stage.name] = stage
        return stage.name

    def _training(self, name: str, method_name: str, role: str, init_stage: str | None, base_model: str | None, deps: dict) -> str:
        method = get_method(method_name)
        settings = self.recipe.stage(name).to_dict()
        loss = LossConfig.from_dict(settings.pop("loss")).to_dict()
        if method.Settings is not None:  # every default written out: a changed default changes the key
            loss["settings"] = method.settings(loss.get("settings", {})).to_dict()
        kind = "sft" if method.data == "sft" else "pairs"
        if init_stage:
            deps = {"init": init_stage, **deps}
        config = {"method": method_name, "training": settings, "loss": loss, "lengths": asdict(self.recipe.lengths[kind]),
                  "precision": self.recipe.precision.to_dict()}
        data = "sft" if kind == "sft" else ("pref_teacher" if role == "teacher" else "pref_train")
        return self._add(Stage(name, "train", role, deps, config, base_model, (data,)))

    # -- teacher side -------------------------------------------------------------------------------
    def ref_teacher(self) -> str:
        if "ref_teacher" not in self.stages:
            self._training("ref_teacher", "sft", "teacher", None, self.teacher, {})
        return "ref_teacher"

    def dpo_teacher(self) -> str:
        if "dpo_teacher" not in self.stages:
            self._training("dpo_teacher", "dpo", "teacher", self.ref_teacher(), None, {})
        return "dpo_teacher"

    def teacher_topk(self) -> str:
        deps = {"teacher": self.dpo_teacher()}
        config = {"topk": asdict(self.recipe.topk), "lengths": asdict(self.recipe.lengths["pairs"]), "precision": self.recipe.precision.to_dict()}
        return self._add(Stage("teacher_topk", "topk", "teacher", deps, config, data=("pref_train",)))

    # -- student side -------------------------------------------------------------------------------
    def method_stage(self, method_name: str) -> str:
        """The training stage of ``method_name`` (and, recursively, everything it needs)."""
        if method_name in self.stages:
            return method_name
        method = get_method(method_name)
        init_stage = None if method.init == "base" else self.method_stage(method.init)
        deps = {}
        if TEACHER_TOPK in method.needs:
            deps["teacher_topk"] = self.teacher_topk()
        if STUDENT_SAMPLES in method.needs:
            schedule = method.sampling(self.recipe.stage(method_name).loss.get("settings", {}))
            deps["samples"] = self.samples(method.sample_generator, schedule)
        if ADVANTAGES in method.needs:
            deps["advantages"] = self.advantages(method.sample_generator)
        if SAMPLE_TOPK in method.needs:
            deps["sample_topk"] = self.sample_topk(deps["samples"])
        # REF_LOGPS needs nothing extra: the stage scores its data with its initial weights before training.
        assert method.needs <= {REF_LOGPS, TEACHER_TOPK, STUDENT_SAMPLES, ADVANTAGES, SAMPLE_TOPK}, method.needs
        return self._training(method_name, method_name, "student", init_stage, self.student if init_stage is None else None, deps)

    def samples(self, generator: str, schedule=None) -> str:
        """Greedy samples (ADPA), or sampled ones by a method's schedule (methods.settings.SamplingSchedule)."""
        deps = {"generator": self.method_stage(generator)}
        config = {"generation": asdict(self.recipe.generation), "lengths": asdict(self.recipe.lengths["pairs"]),
                  "decoding": "greedy" if schedule is None else schedule.to_dict(), "precision": self.recipe.precision.to_dict()}
        name = f"samples_{generator}" if schedule is None else f"samples_{generator}_{schedule.tag}"
        return self._add(Stage(name, "samples", "student", deps, config, data=("pref_train",)))

    def sample_topk(self, samples: str) -> str:
        """The DPO teacher's top-K distributions on a samples stage's responses."""
        deps = {"teacher": self.dpo_teacher(), "samples": samples}
        config = {"topk": asdict(self.recipe.topk), "precision": self.recipe.precision.to_dict()}
        return self._add(Stage(f"teacher_topk_{samples}", "sample_topk", "teacher", deps, config, data=("pref_train",)))

    def advantages(self, generator: str) -> str:
        baseline = self.recipe.advantages.baseline
        deps = {"samples": self.samples(generator), "dpo_teacher": self.dpo_teacher(),
                "advantage_baseline": self.ref_teacher() if baseline == "ref_teacher" else self.method_stage(generator)}
        config = {"baseline": baseline, "floor": self.recipe.advantages.floor, "topk": asdict(self.recipe.topk),
                  "precision": self.recipe.precision.to_dict()}
        return self._add(Stage(f"advantages_{generator}", "advantages", "teacher", deps, config, data=("pref_train",)))

    # -- evaluation ---------------------------------------------------------------------------------
    def _eval_config(self, row: str) -> dict:
        """What an evaluation stage runs: the recipe's benchmarks (plus the held-out metrics), per-benchmark limits
        and options, judges, and the model id its exports carry (student-row-seed, so runs can be merged)."""
        ev, data = self.recipe.eval, self.recipe.data
        benchmarks = (["heldout"] if ev.heldout else []) + [b for b in ev.benchmarks if b != "heldout"]
        limits = ev.limit if isinstance(ev.limit, dict) else {b: ev.limit for b in benchmarks}
        limits = {b: limits.get(b) for b in benchmarks}
        if "heldout" in benchmarks:
            limits["heldout"] = data.test_limit
        options = {**ev.options, "heldout_source": data.source, "heldout_lengths": asdict(self.recipe.lengths["pairs"]),
                   **{f"{b}.judge": j for b, j in ev.judges.items()},
                   "model_id": f"{_slug(self.student)}-{row}-s{self.seed}", "precision": self.recipe.precision.to_dict()}
        return {"benchmarks": benchmarks, "limit": limits, "options": options, "curves": ev.curves,
                "profile": self.recipe.profile}

    def evaluation(self, method_name: str) -> str:
        """Evaluate a student. Implicit-reward accuracy is measured against the SFT student (the base model for SFT)."""
        deps = {"model": self.method_stage(method_name)}
        config = self._eval_config(method_name)
        if method_name == "sft":
            config["reward_reference_base"] = self.student
        else:
            deps["reward_reference"] = self.method_stage("sft")
        return self._add(Stage(f"eval_{method_name}", "eval", "student", deps, config, data=("pref_test",)))

    def teacher_evaluation(self, teacher_stage: str) -> str:
        """The table's teacher rows: the reference (SFT) teacher and the DPO teacher, evaluated like students;
        the reference for implicit rewards is the model each was trained from."""
        deps = {"model": getattr(self, teacher_stage)()}
        config = self._eval_config(teacher_stage)
        if teacher_stage == "ref_teacher":
            config["reward_reference_base"] = self.teacher
        else:
            deps["reward_reference"] = self.ref_teacher()
        return self._add(Stage(f"eval_{teacher_stage}", "eval", "teacher", deps, config, data=("pref_test",)))


def _slug(spec: str) -> str:
    from pathlib import Path

    return Path(spec).name if ("/" in spec and Path(spec).expanduser().is_dir()) else spec.replace("/", "_")


def build_plan(recipe: Recipe, methods: list[str], student: str, teacher: str, evaluate: bool = True,
               teacher_rows: bool = False, seed: int | None = None) -> dict[str, Stage]:
    planner = Planner(recipe, student, teacher, seed)
    for name in methods:
        planner.method_stage(name)
        if evaluate:
            planner.evaluation(name)
    if teacher_rows and evaluate:
        for name in TEACHER_ROWS:
            planner.teacher_evaluation(name)
    return planner.stages


def uses_teacher(plan: dict[str, Stage]) -> bool:
    return any(s.role == "teacher" for s in plan.values())


def base_models(plan: dict[str, Stage]) -> list[str]:
    return sorted({s.base_model for s in plan.values() if s.base_model})


def closure(plan: dict[str, Stage], name: str) -> list[str]:
    """``name`` and every stage it depends on, dependencies first."""
    seen: list[str] = []

    def visit(n: str) -> None:
        for dep in plan[n].deps.values():
            visit(dep)
        if n not in seen:
            seen.append(n)
    visit(name)
    return seen


def compute_keys(plan: dict[str, Stage], fingerprints: dict[str, str], data_versions: dict[str, str], seed: int,
                 student: str) -> None:
    """Fill every stage's key (dependencies first: plan order is dependency order).

    Precomputes run the teacher on the student's tokenisation, so they also depend on the student's model.
    """
    for stage in plan.values():
        payload = {
            "kind": stage.kind, "code": CODE_VERSIONS[stage.kind], "config": stage.config, "seed": seed,
            "deps": {role: plan[dep].key for role, dep in sorted(stage.deps.items())},
            "base_model": fingerprints[stage.base_model] if stage.base_model else None,
            "data": {kind: data_versions[kind] for kind in stage.data},
            "tokenised_by": fingerprints[student] if stage.kind in ("topk", "advantages", "sample_topk") else None,
        }
        stage.key = stable_hash(payload)
