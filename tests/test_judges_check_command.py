"""`bench judge-check` end to end against a fake judge endpoint on loopback (no model, a few seconds)."""
from __future__ import annotations

import json
import math
import re

import pytest

import bench.judges
from bench.cli import main
from bench.datasets import builtin
from bench.evals.judge_checks import floor as check_floor
from bench.evals.judge_checks import verifier as check_verifier
from bench.judges.agreement import load_agreement

from judges_helpers import FakeCompletions, FaultyChatServer, fake_local_judge

FLOOR_ANSWER = "I do not know."
ANSWER = re.compile(r"\[The Start of Assistant's Answer\]\n(.*)\n\[The End of Assistant's Answer\]", re.S)


def length_judge(body: dict) -> str:
    """Rates by answer length (1..10): a judge with some signal, fully determined by its input."""
    answer = ANSWER.search(body["messages"][-1]["content"]).group(1)
    return f"ok:Explanation: measured. Rating: [[{min(10, 1 + len(answer) // 150)}]]"


@pytest.fixture()
def fake_env(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.judges, "judge_cache_dir", lambda: tmp_path / "judgments")
    # The real command generates SmolLM2 answers once (minutes); here the data's own answers stand in for them.
    monkeypatch.setattr(check_verifier, "model_answers", lambda items, root: [it.reference + " Extra." for it in items])
    # Likewise the floor model's 1024-token MT-Bench answers: one short non-answer to every question.
    monkeypatch.setattr(check_floor, "model_answers",
                        lambda questions, root, versions: {q["question_id"]: [FLOOR_ANSWER] for q in questions})
    # (answered_prompts, which the command calls, is the real one: it takes answers from model_answers)
    return tmp_path


def test_judge_check_writes_both_references_and_prints_a_table(fake_env, data_dir, capsys):
    with FaultyChatServer(length_judge) as server:
        judge_id = f"openai:fake@{server.base_url}"
        code = main(["judge-check", "--judge", judge_id, "--questions", "3", "--models", "gpt-4,alpaca-13b,chatglm-6b,vicuna-7b-v1.3",
                     "--verifier-pairs", "6", "--hh-pairs", "5", "--data-dir", str(data_dir), "--out", str(fake_env / "checks")])
        sent = len(server.requests)
        judged = [ANSWER.search(r["body"]["messages"][-1]["content"]).group(1) for r in server.requests]
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured.err
    [path] = (fake_env / "checks").glob("*.json")
    result = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    mt = result["mt_bench"]
    assert (mt["n_models"], mt["n_questions"], mt["n_judgments"]) == (4, 3, 12) and mt["turn"] == 1
    assert mt["question_ids"] == [81, 91, 101]  # one question from each of the first three categories
    assert set(mt["model_means"]) == {"gpt-4", "alpaca-13b", "chatglm-6b", "vicuna-7b-v1.3"}
    ver = result["verifier"]
    assert ver["pairwise_accuracy"]["n_pairs"] >= 6 and ver["n_answers"] == 3 * ver["n_prompts"]
    hh = result["hh"]
    floor = result["floor"]
    assert sent == mt["n_judgments"] + ver["n_answers"] + floor["n_judgments"] + hh["n_judgments"] and hh["n_judgments"] == 10
    # The floor: its non-answers rated 1 by the length rule, placed among the four published means (by hand)
    assert floor["n_judgments"] == 3 and floor["question_ids"] == [81, 91, 101] and judged.count(FLOOR_ANSWER) == 3
    assert floor["ratings"] == [1.0, 1.0, 1.0] and floor["mean"] == 1.0 and floor["ci95"] == [1.0, 1.0]
    assert min(mt["model_means"].values()) > 1.0 and (floor["rank"], floor["of"], floor["ranked_last"]) == (5, 5, True)
    lowest = min(mt["model_means"], key=mt["model_means"].get)
    assert floor["lowest_published"] == {"model": lowest, "mean": mt["model_means"][lowest],
                                         "gpt4_score": mt["gpt4_scores"][lowest]}
    assert floor["gap_below_lowest"] == pytest.approx(mt["model_means"][lowest] - 1.0)
    assert floor["length_baseline"]["rank"] == 5 and "135M model (floor)" in out and "5 of 5" in out
    # answers are judged whole: gpt-4's long answer to question 81 reaches the judge uncut
    from bench.evals.judge_checks.mt_bench import published_answers

    gpt4_answer = published_answers(data_dir / "mt_bench", "gpt-4")[81][0]
    assert len(gpt4_answer) > 2000 and gpt4_answer in judged and mt["answers"] == "whole"
    # HH: pairwise accuracy of the length judge, by hand from the pairs it was shown (chosen first, then rejected)
    from bench.evals.judge_checks.hh import load_pairs

    pairs = load_pairs(data_dir, 5)
    rating = lambda text: min(10, 1 + len(text) // 150)  # noqa: E731 - the fake judge's rule
    expected = [1.0 if rating(p["chosen"]) > rating(p["rejected"]) else 0.5 if rating(p["chosen"]) == rating(p["rejected"])
                else 0.0 for p in pairs]
    assert hh["pairwise_accuracy"]["value"] == pytest.approx(sum(expected) / 5) and hh["pairwise_accuracy"]["n_pairs"] == 5
    assert hh["chance"] == 0.5 and len(hh["pairwise_accuracy"]["ci95"]) == 2 and "human HH pairs" in out
    assert "Spearman (model means)" in out and "pairwise accuracy (Wilson)" in out and "AUROC" in out
    # a check this small says it is a screening, and why, in the file and on the terminal
    assert result["screening"] == ("smaller than a full check (bench.judges.validation): MT-Bench on 4 models x 3 "
                                   "questions (a validation needs 25 x 24); 5 HH pairs sampled (a validation needs 400)")
    assert f"screening: {result['screening']}" in out
    # The no-judge baseline beside each reference: the longer answer rated higher, by hand
    longer = [1.0 if len(p["chosen"]) > len(p["rejected"]) else 0.5 if len(p["chosen"]) == len(p["rejected"]) else 0.0
              for p in pairs]
    assert hh["length_baseline"]["pairwise_accuracy"]["value"] == pytest.approx(sum(longer) / 5)
    from scipy.stats import kendalltau, spearmanr

    from bench.evals.judge_checks.mt_bench import published_scores
    models = ["gpt-4", "alpaca-13b", "chatglm-6b", "vicuna-7b-v1.3"]
    mean_chars = [sum(len(published_answers(data_dir / "mt_bench", m)[q][0]) for q in (81, 91, 101)) / 3 for m in models]
    gpt4 = [published_scores(data_dir / "mt_bench")[m] for m in models]
    assert mt["length_baseline"]["spearman"]["value"] == pytest.approx(spearmanr(mean_chars, gpt4)[0], abs=1e-4)
    assert mt["length_baseline"]["kendall"]["value"] == pytest.approx(kendalltau(mean_chars, gpt4)[0], abs=1e-4)
    assert ver["length_baseline"]["pairwise_accuracy"]["n_pairs"] == ver["pairwise_accuracy"]["n_pairs"]
    assert out.count("no judge, length alone") == 4  # one per reference, the floor too
    summary = load_agreement(judge_id, folder=fake_env / "checks")
    assert summary["mt_bench_gpt4"]["n_questions"] == 3 and "vs exact verifier" in summary["text"]
    assert summary["hh"]["n_pairs"] == 5 and "vs human HH preferences" in summary["text"]
    # seconds per judgment sent, per reference and in all: the cold cost
    refs = ("mt_bench", "verifier", "floor", "hh")
    assert result["seconds_per_judgment"] == pytest.approx(sum(result[r]["wall_s"] for r in refs) / sent, abs=0.01)

    # Only one reference this time: the other's last measurement is kept, and cached judgments are not re-sent.
    with FaultyChatServer(length_judge) as server:
        code = main(["judge-check", "--judge", judge_id, "--references", "verifier", "--verifier-pairs", "6",
                     "--data-dir", str(data_dir), "--out", str(fake_env / "checks")])
    assert code == 0
    kept = json.loads(path.read_text())
    assert kept["mt_bench"]["n_judgments"] == 12 and kept["verifier"]["n_prompts"] == ver["n_prompts"]
    assert kept["hh"]["n_pairs"] == 5 and kept["floor"]["rank"] == 5
    assert "agreement" not in kept["judge"]  # the file is the check, not a quote of the one it replaces
    # every verifier judgment came from the cache: no cold cost measured, rather than a cost near 0 s
    assert kept["verifier"]["cache_hits"] > 0 and kept["verifier"]["requests_sent"] == 0
    assert kept["verifier"]["seconds_per_judgment"] is None and kept["seconds_per_judgment"] is None


@pytest.mark.parametrize("args, message", [
    (["--questions", "0"], "--questions must be at least 1"),
    (["--references", "vibes"], "--references 'vibes'"),
    (["--models", "gpt-4,nosuch-model", "--references", "mt_bench"], "no GPT-4 score for nosuch-model (in "),
    (["--judge", "local-nosuch"], "unknown judge 'local-nosuch'"),
])
def test_bad_arguments_are_one_clear_line(fake_env, data_dir, capsys, args, message):
    argv = ["judge-check", "--judge", "openai:fake@http://127.0.0.1:9/v1", "--data-dir", str(data_dir),
            "--out", str(fake_env / "checks")] + args  # a repeated --judge: argparse keeps the last
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (fake_env / "checks").exists()


def test_hh_pairs_are_split_at_the_last_assistant_turn(data_dir):
    from bench.evals.judge_checks.hh import load_pairs, split_transcript

    dialogue, reply = split_transcript("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: steal?\n\nAssistant: No.")
    assert dialogue == "Human: hi\n\nAssistant: hello\n\nHuman: steal?" and reply == "No."
    first, more = load_pairs(data_dir, 3), load_pairs(data_dir, 8)
    assert more[:3] == first  # nested samples: a small check's judgments are reused by a larger one
    assert all(p["chosen"] != p["rejected"] and p["dialogue"].startswith("Human:") for p in more)
    assert len({p["line"] for p in more}) == 8


PAIR_ANSWERS = re.compile(r"\[The Start of Assistant A's Answer\]\n(.*)\n\[The End of Assistant A's Answer\]\n\n"
                          r"\[The Start of Assistant B's Answer\]\n(.*)\n\[The End of Assistant B's Answer\]", re.S)


def longer_first_judge(body: dict) -> dict:
    """A position-biased judge with a length signal: P(A) = 0.8 when A is the longer answer, else 0.6. It always
    picks A (no pair is position-consistent), and both orders averaged give the longer answer 0.6 (a tie 0.5)."""
    a, b = PAIR_ANSWERS.search(body["prompt"]).groups()
    p = 0.8 if len(a) > len(b) else 0.6
    return {"A": math.log(p), "B": math.log(1.0 - p)}


def test_a_pairwise_judge_compares_the_verifier_pairs_in_both_orders(fake_env, data_dir, monkeypatch, capsys):
    from bench.commands import judge_check as command

    server = FakeCompletions(longer_first_judge)
    monkeypatch.setattr(command, "get_judge", lambda judge_id, **_: fake_local_judge(fake_env / "judge", server, judge_id))
    try:
        code = main(["judge-check", "--judge", "local-qwen0.5b:pairwise", "--references", "verifier",
                     "--verifier-pairs", "6", "--data-dir", str(data_dir), "--out", str(fake_env / "checks")])
    finally:
        server.close()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    ver = json.loads((fake_env / "checks" / "local-qwen0.5b_pairwise.json").read_text())["verifier"]
    acc, base = ver["pairwise_accuracy"], ver["length_baseline"]["pairwise_accuracy"]
    # the judge prefers the longer answer, so it scores what length alone scores, pair for pair; a length
    # baseline away from 1/2 makes a swapped better/worse answer (1 - x) fail here
    assert acc["n_pairs"] == base["n_pairs"] >= 6 and acc["ties"] == base["ties"]
    assert acc["value"] == pytest.approx(base["value"]) and abs(base["value"] - 0.5) > 0.1
    assert acc["ci95_bootstrap_prompts"] == pytest.approx(base["ci95_bootstrap_prompts"])
    assert len(server.bodies) == 2 * acc["n_pairs"] == 2 * ver["n_judgments"]  # both orders of each pair
    pc = ver["position_consistency"]
    assert (pc["value"], pc["n_pairs"], pc["ci95"][0]) == (0.0, acc["n_pairs"], 0.0)
    assert "auroc" not in ver and "AUROC" not in captured.out and "position consistency" in captured.out
    item = next(iter(builtin.test_prompts()))
    assert f"[User Question]\n{item.prompt}\n" in server.bodies[0]["prompt"]
    summary = load_agreement("local-qwen0.5b:pairwise", folder=fake_env / "checks")
    assert "position consistency 0.00" in summary["text"] and "AUROC" not in summary["text"]
    assert summary["verifier"]["position_consistency"] == 0.0 and "auroc" not in summary["verifier"]


def test_the_verifier_length_baseline_rates_the_longer_answer_higher():
    def answer(text, score):
        return {"source": "hand", "text": text, "score": score, "passed": score == 1.0}
    per_prompt = [[answer("short and right", 1.0), answer("a much longer answer that is wrong", 0.0)],
                  [answer("a long answer that follows every rule", 1.0), answer("wrong", 0.5)],
                  [answer("right, and long enough", 1.0), answer("wrong, as long as it", 0.0)]]
    jobs = [{"prompt": p, "answer": a} for p, answers in enumerate(per_prompt) for a in range(len(answers))]
    base = check_verifier.length_baseline(per_prompt, jobs)
    assert base["pairwise_accuracy"]["value"] == pytest.approx((0.0 + 1.0 + 1.0) / 3)
    assert base["pairwise_accuracy"]["n_pairs"] == 3
    # passing answers of 15, 37, 22 characters against failing ones of 34, 5, 20: 1 + 3 + 2 of 9 comparisons won
    assert base["auroc"]["value"] == pytest.approx(6 / 9)


def test_length_only_adds_the_baseline_a_full_check_would_have_recorded(fake_env, data_dir, capsys):
    """A check made before checks recorded the no-judge baseline gains it without running the judge: the same numbers
    the full check computes; a check whose recorded questions the data no longer gives is refused, file untouched."""
    out = fake_env / "checks"
    with FaultyChatServer(length_judge) as server:
        judge_id = f"openai:fake@{server.base_url}"
        assert main(["judge-check", "--judge", judge_id, "--questions", "3", "--models", "gpt-4,alpaca-13b,chatglm-6b",
                     "--verifier-pairs", "6", "--hh-pairs", "5", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    [path] = out.glob("*.json")
    full = json.loads(path.read_text())
    old = {k: ({kk: vv for kk, vv in v.items() if kk != "length_baseline"} if isinstance(v, dict) else v)
           for k, v in full.items()}
    path.write_text(json.dumps(old))
    capsys.readouterr()
    # no judge runs: the server is gone, and a judge request would fail
    assert main(["judge-check", "--judge", judge_id, "--length-only", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert "length baseline added to mt_bench, hh, verifier" in capsys.readouterr().out
    added = json.loads(path.read_text())
    for ref in ("mt_bench", "hh", "verifier"):
        base = dict(added[ref]["length_baseline"])
        assert base.pop("added_by").startswith("bench judge-check --length-only") and base.pop("added")
        assert base == full[ref]["length_baseline"], ref
        assert {k: v for k, v in added[ref].items() if k != "length_baseline"} == old[ref]  # the judge's numbers untouched
    text = load_agreement(judge_id, folder=out)["text"]
    spearman = full["mt_bench"]["length_baseline"]["spearman"]
    assert f"Spearman {full['mt_bench']['spearman']['value']:.2f}" in text
    assert f"(no judge, answer length alone: {spearman['value']:.2f} [{spearman['ci95'][0]:.2f}, " in text
    assert text.count("no judge, answer length alone") == 3
    # again: nothing to add, nothing rewritten
    before = path.read_text()
    assert main(["judge-check", "--judge", judge_id, "--length-only", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert path.read_text() == before and "every reference has its length baseline" in capsys.readouterr().out
    # recorded questions the data does not give: refused with one line naming the file and the field
    old["mt_bench"]["question_ids"] = [81, 91, 102]
    path.write_text(json.dumps(old))
    assert main(["judge-check", "--judge", judge_id, "--length-only", "--data-dir", str(data_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "field mt_bench.question_ids" in err and "Traceback" not in err
    assert json.loads(path.read_text()) == old
    assert main(["judge-check", "--judge", "local-nosuch", "--length-only", "--data-dir", str(data_dir), "--out", str(out)]) == 2
    assert "not found" in capsys.readouterr().err


def test_the_floor_is_placed_in_the_judges_own_mt_bench_check(fake_env, data_dir, capsys):
    """`--references floor` needs the judge's MT-Bench check (this run's or an earlier one in --out): without one it
    is one clear line and nothing written; with one, the floor is placed among that check's models, and a later
    MT-Bench check (other questions) drops the placement made in the earlier one instead of keeping it stale."""
    out = fake_env / "checks"
    models = "gpt-4,alpaca-13b,chatglm-6b"
    with FaultyChatServer(length_judge) as server:
        judge_id = f"openai:fake@{server.base_url}"
        base = ["judge-check", "--judge", judge_id, "--data-dir", str(data_dir), "--out", str(out)]
        assert main(base + ["--references", "floor"]) == 2
        err = capsys.readouterr().err
        assert "--references floor places models among the models" in err and "Traceback" not in err and not out.exists()
        assert main(base + ["--references", "mt_bench", "--questions", "2", "--models", models]) == 0
        assert main(base + ["--references", "floor"]) == 0
        result = json.loads(next(out.glob("*.json")).read_text())
        floor, mt = result["floor"], result["mt_bench"]
        assert floor["question_ids"] == mt["question_ids"] == [81, 91] and floor["n_judgments"] == 2
        assert (floor["rank"], floor["of"], floor["ranked_last"]) == (4, 4, True)
        assert "a 135M model's answers" in load_agreement(judge_id, folder=out)["text"]
        assert main(base + ["--references", "mt_bench", "--questions", "3", "--models", models]) == 0
        result = json.loads(next(out.glob("*.json")).read_text())
        assert result["mt_bench"]["n_questions"] == 3 and "floor" not in result


def test_place_ranks_models_without_a_gpt4_score_among_the_checks_models(fake_env, data_dir, capsys):
    """`--place`: models with answers but no GPT-4 score, judged on the MT-Bench check's questions with its prompts and
    each ranked among its models alone; by hand from the length judge's rule. Bad names are refused before any
    judging, and a later MT-Bench check drops the placement made in the earlier one."""
    from bench.evals.judge_checks.mt_bench import published_answers

    out = fake_env / "checks"
    models, placed = ["gpt-4", "alpaca-13b", "chatglm-6b"], ["llama-13b", "dolly-v2-12b"]
    with FaultyChatServer(length_judge) as server:
        judge_id = f"openai:fake@{server.base_url}"
        base = ["judge-check", "--judge", judge_id, "--data-dir", str(data_dir), "--out", str(out)]
        for args, message in ((["--references", "placed"], "--references placed places the models of --place"),
                              (["--references", "placed", "--place", "llama-13b,nosuch"], "nosuch.jsonl not found"),
                              (["--place", " , "], "--place ' , ': name at least one model"),
                              (["--references", "mt_bench", "--models", ",".join(models), "--place", "llama-13b,gpt-4"],
                               "--place: gpt-4 already in the MT-Bench check"),
                              (["--references", "placed", "--place", "llama-13b"],
                               "--references placed places models among the models")):
            assert main(base + args) == 2, args
            err = capsys.readouterr().err
            assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, (args, err)
        assert not server.requests and not out.exists()
        assert main(base + ["--references", "mt_bench", "--questions", "2", "--models", ",".join(models),
                            "--place", "llama-13b, dolly-v2-12b,llama-13b"]) == 0
        judged = [ANSWER.search(r["body"]["messages"][-1]["content"]).group(1) for r in server.requests]
        [path] = out.glob("*.json")
        result = json.loads(path.read_text())
        printed = capsys.readouterr().out
        assert main(base + ["--references", "mt_bench", "--questions", "3", "--models", ",".join(models)]) == 0
        assert "placed" not in json.loads(path.read_text())  # placed in the earlier check: dropped with it
    mt, block = result["mt_bench"], result["placed"]
    assert set(mt["model_means"]) == set(models) and block["question_ids"] == mt["question_ids"] == [81, 91]
    assert block["n_judgments"] == 4 and len(judged) == 6 + 4  # each placed model once, on the check's 2 questions
    rating = lambda text: min(10, 1 + len(text) // 150)  # noqa: E731 - the fake judge's rule
    means = {}
    for name in placed:
        answers = published_answers(data_dir / "mt_bench", name)
        assert all(answers[q][0] in judged for q in (81, 91))  # whole answers, through the check's own prompts
        means[name] = sum(rating(answers[q][0]) for q in (81, 91)) / 2
        one = block["models"][name]
        assert one["mean"] == pytest.approx(means[name]) and one["ratings"] == [rating(answers[q][0]) for q in (81, 91)]
        above = sum(v > means[name] for v in mt["model_means"].values())  # ranked among the check's 3 models alone
        assert (one["rank"], one["of"], one["ranked_last"]) == (1 + above, 4, above == 3)
        assert one["mean_answer_chars"] == pytest.approx(sum(len(answers[q][0]) for q in (81, 91)) / 2)
    assert block["order_by_judge"] == sorted(placed, key=lambda m: -means[m])
    assert "placed (no GPT-4 score)" in printed and "llama-13b: rank, mean" in printed


def test_the_floor_answers_are_generated_once_per_question_and_survive_a_torn_line(tmp_path, monkeypatch):
    calls = []

    def fake_generate(model, tokenizer, chats, **kwargs):
        calls.append(([c[0]["content"] for c in chats], kwargs))
        return [f"answer to {c[0]['content'][:20]}" for c in chats]

    monkeypatch.setattr(check_floor, "generate_text", fake_generate)
    monkeypatch.setattr(check_floor, "answer_model", lambda: (None, None))
    questions = [{"question_id": i, "turns": [f"question {i}?", "second turn"]} for i in (81, 91, 101)]
    version = {"question.jsonl": "question.jsonl@sha256:0123456789ab"}
    first = check_floor.model_answers(questions[:2], tmp_path, version)
    assert first == {81: ["answer to question 81?"], 91: ["answer to question 91?"]}
    assert calls[0][1]["max_new_tokens"] == 1024 and calls[0][1]["temperature"] == 0.0
    path = check_floor._answers_file(tmp_path, version)
    path.write_text(path.read_text() + '{"question_id": 101, "ans')  # a run killed while appending
    again = check_floor.model_answers(questions, tmp_path, version)
    assert again == {**first, 101: ["answer to question 101?"]}
    assert [c[0] for c in calls] == [["question 81?", "question 91?"], ["question 101?"]]  # only what was missing
    # the row written after the torn line was not glued to it: a third call generates nothing
    assert check_floor.model_answers(questions, tmp_path, version) == again and len(calls) == 2
    assert "0123456789ab" in path.name and "greedy1024" in path.name


def _held_back_set(tmp_path, data_dir) -> tuple:
    """A set laid out as a third party would hand it over: FastChat answer files under new names (three real answer
    sets and one model that answers nothing) and GPT-4's judgment of each answer, with FastChat's quirks: a -1 (no
    rating), an answer judged twice, turn-2 records."""
    from bench.evals.judge_checks.mt_bench import published_answers

    answers = tmp_path / "held_back" / "model_answer"
    answers.mkdir(parents=True)
    sources = {"model-a": "gpt-4", "model-b": "vicuna-7b-v1.3", "model-c": "alpaca-13b", "model-weak": None}
    for name, source in sources.items():
        turns = published_answers(data_dir / "mt_bench", source) if source else {}
        rows = [{"question_id": q, "model_id": name,
                 "choices": [{"index": 0, "turns": turns.get(q) or [FLOOR_ANSWER, FLOOR_ANSWER]}]}
                for q in range(81, 161)]
        (answers / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # GPT-4's turn-1 scores: per model, with some per question (model-b falls below model-c on question 91)
    score = {"model-a": {101: -1}, "model-b": {91: 3}, "model-c": {91: 6}, "model-weak": {}}
    usual = {"model-a": 9, "model-b": 7, "model-c": 5, "model-weak": 2}
    records = []
    for name in score:
        for q in range(81, 161):
            records.append({"question_id": q, "model": name, "judge": ["gpt-4", "single-v1"],
                            "score": score[name].get(q, usual[name]), "turn": 1})
            records.append({"question_id": q, "model": name, "judge": ["gpt-4", "single-v1"], "score": 1, "turn": 2})
    records.append({"question_id": 81, "model": "model-b", "judge": ["gpt-4", "single-v1"], "score": 10, "turn": 1})  # twice
    records.append({"question_id": 81, "model": "not-here", "judge": ["gpt-4", "single-v1"], "score": 3, "turn": 1})
    judgments = tmp_path / "held_back" / "gpt-4_single.jsonl"
    judgments.write_text("".join(json.dumps(r) + "\n" for r in records))
    return answers, judgments


def test_a_held_back_set_is_checked_against_gpt4s_judgment_of_each_answer(fake_env, data_dir, capsys):
    """Other models than the 25 published ones: their answers (--answers) and GPT-4's judgment of each
    (--gpt4-judgments, FastChat's gpt-4_single.jsonl). The reference is GPT-4's mean over the very answers judged
    (turn 1, -1 left out, a repeated judgment averaged), each question resample recomputes both sides, and the model
    GPT-4 rates lowest is placed among the judge's means (issue 20: it must rank last)."""
    from scipy.stats import kendalltau, spearmanr

    from bench.judges.agreement_stats import cluster_bootstrap

    answers, judgments = _held_back_set(fake_env, data_dir)
    out = fake_env / "held_back_checks"
    with FaultyChatServer(length_judge) as server:
        judge_id = f"openai:fake@{server.base_url}"
        code = main(["judge-check", "--judge", judge_id, "--references", "mt_bench", "--questions", "3",
                     "--answers", str(answers), "--gpt4-judgments", str(judgments), "--data-dir", str(data_dir),
                     "--out", str(out)])
        judged = [ANSWER.search(r["body"]["messages"][-1]["content"]).group(1) for r in server.requests]
    captured = capsys.readouterr()
    assert code == 0, captured.err
    mt = json.loads(next(out.glob("*.json")).read_text())["mt_bench"]
    models = ["model-a", "model-b", "model-c", "model-weak"]  # best first by GPT-4; not-here has no answers
    assert list(mt["model_means"]) == models and mt["question_ids"] == [81, 91, 101] and len(judged) == 12
    # GPT-4's means over the same 3 questions, by hand: model-b's 81 judged 7 and 10; model-a's 101 has no rating
    assert mt["gpt4_scores"] == {"model-a": 9.0, "model-b": pytest.approx((8.5 + 3 + 7) / 3, abs=1e-4),
                                 "model-c": pytest.approx(16 / 3, abs=1e-4), "model-weak": 2.0}
    assert mt["gpt4_unrated_answers"] == 1 and mt["gpt4_judge"] == "gpt-4" and mt["gpt4_judgments"] == str(judgments)
    assert mt["answers_dir"] == str(answers) and "judgment of each graded answer" in mt["reference"]
    # the judge's ratings by hand (the fake judge's rule on the held-back answers), and both correlations from scipy
    rating = lambda text: min(10, 1 + len(text) // 150)  # noqa: E731
    from bench.evals.judge_checks.mt_bench import published_answers

    grid = {m: [rating((published_answers(data_dir / "mt_bench", m, answers)[q][0])) for q in (81, 91, 101)] for m in models}
    means = [sum(grid[m]) / 3 for m in models]
    assert [mt["model_means"][m] for m in models] == pytest.approx(means, abs=1e-4)
    ref = [mt["gpt4_scores"][m] for m in models]
    assert mt["spearman"]["value"] == pytest.approx(spearmanr(means, ref)[0], abs=1e-4)
    assert mt["kendall"]["value"] == pytest.approx(kendalltau(means, ref)[0], abs=1e-4)
    # the interval resamples questions on both sides: GPT-4's per-question scores move with the judge's
    gpt4_grid = {"model-a": [9, 9, None], "model-b": [8.5, 3, 7], "model-c": [5, 6, 5], "model-weak": [2, 2, 2]}

    def both_sides(idx):
        judge = [sum(grid[m][i] for i in idx) / len(idx) for m in models]
        picked = {m: [gpt4_grid[m][i] for i in idx if gpt4_grid[m][i] is not None] for m in models}
        if any(not v for v in picked.values()):
            return None
        r = spearmanr(judge, [sum(v) / len(v) for v in picked.values()])[0]
        return None if r != r else r

    assert mt["spearman"]["ci95"] == pytest.approx(list(cluster_bootstrap(3, both_sides)), abs=1e-4)
    low = mt["gpt4_lowest"]
    assert (low["model"], low["rank"], low["of"], low["ranked_last"]) == ("model-weak", 4, 4, True)
    # the share of question resamples in which it is strictly last, against its exact value over all 27 draws (a
    # real answer rated 1 like the non-answers ties with it on one question): within the 2,000 resamples' error
    import itertools

    def strictly_last(draw):
        m = {k: sum(grid[k][i] for i in draw) for k in models}
        return all(m[k] > m["model-weak"] for k in models[:3])

    exact = sum(map(strictly_last, itertools.product(range(3), repeat=3))) / 27
    assert low["n_resamples"] == 2000 and abs(low["ranked_last_share"] - exact) < 0.015 and exact < 1
    assert "GPT-4's lowest (model-weak) ranked" in captured.out and "4 of 4" in captured.out
    assert "GPT-4's lowest (model-weak) ranked 4 of 4" in load_agreement(judge_id, folder=out)["text"]


@pytest.mark.parametrize("line, message", [
    ({"question_id": 81, "model": "model-a", "judge": ["gpt-4", "single-v1"], "score": "high", "turn": 1},
     "line 2: field score: 'high' is not a rating 1-10"),
    ({"question_id": 81, "model": "model-a", "judge": ["claude-v1", "single-v1"], "score": 5, "turn": 1},
     "field judge: judgments by more than one judge (claude-v1, gpt-4)"),
    ({"question_id": 81, "model": "model-a", "judge": ["gpt-4", "single-v1"], "turn": 1}, "line 2: missing field(s) score"),
])
def test_a_bad_judgments_file_is_one_clear_line_before_any_judging(fake_env, data_dir, capsys, line, message):
    answers, judgments = _held_back_set(fake_env, data_dir)
    first = judgments.read_text().splitlines()[0]
    judgments.write_text(first + "\n" + json.dumps(line) + "\n")
    assert main(["judge-check", "--judge", "openai:fake@http://127.0.0.1:9/v1", "--references", "mt_bench",
                 "--answers", str(answers), "--gpt4-judgments", str(judgments), "--data-dir", str(data_dir),
                 "--out", str(fake_env / "checks")]) == 2
    err = capsys.readouterr().err
    assert f"{judgments}: " in err and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (fake_env / "checks").exists()


def test_without_judge_the_check_measures_the_embedded_profiles_default(data_dir, tmp_path, capsys):
    """The held-back set is re-run "with the default judge": `bench judge-check` without --judge is the judge that
    `bench eval` and the embedded recipe use (no judge starts here: --length-only on a missing check)."""
    from bench.judges import DEFAULT_JUDGES

    assert main(["judge-check", "--length-only", "--data-dir", str(data_dir), "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    default = DEFAULT_JUDGES["embedded"]["mt_bench"]
    assert default == "local-qwen1.5b:noexample"
    assert f"judge-check: judge {default} (the embedded profile's default MT-Bench judge)" in captured.out
    assert "local-qwen1.5b_noexample.json not found" in captured.err


def longer_wins_judge(body: dict) -> dict:
    """A pairwise judge without position bias: P(A) = 0.8 when A is the longer answer, 0.2 when it is the shorter."""
    a, b = PAIR_ANSWERS.search(body["prompt"]).groups()
    p = 0.8 if len(a) > len(b) else 0.2
    return {"A": math.log(p), "B": math.log(1.0 - p)}


def test_a_pairwise_judge_rates_each_mt_bench_answer_against_gpt35s(fake_env, data_dir, monkeypatch, capsys):
    """The MT-Bench and floor references of a pairwise judge: each answer against gpt-3.5-turbo's answer to the same
    question, in both orders, rated 1 + 9 * P(answer is better); by hand from the answers' lengths, so a rating read
    from the wrong side of the pair (or the baseline's answer rated) fails here."""
    from bench.commands import judge_check as command
    from bench.evals.judge_checks.mt_bench import published_answers

    server = FakeCompletions(longer_wins_judge)
    monkeypatch.setattr(command, "get_judge", lambda judge_id, **_: fake_local_judge(fake_env / "judge", server, judge_id))
    models = ["gpt-4", "alpaca-13b", "chatglm-6b"]
    try:
        code = main(["judge-check", "--judge", "local-qwen0.5b:pairwise", "--references", "mt_bench,floor",
                     "--questions", "3", "--models", ",".join(models), "--data-dir", str(data_dir),
                     "--out", str(fake_env / "checks")])
    finally:
        server.close()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads((fake_env / "checks" / "local-qwen0.5b_pairwise.json").read_text())
    mt, floor = result["mt_bench"], result["floor"]
    folder = data_dir / "mt_bench"
    baseline = published_answers(folder, "gpt-3.5-turbo")

    def rating(answer, q):
        return 1 + 9 * (0.8 if len(answer) > len(baseline[q][0]) else 0.2)

    for m in models:
        answers = published_answers(folder, m)
        expected = sum(rating(answers[q][0], q) for q in (81, 91, 101)) / 3
        assert mt["model_means"][m] == pytest.approx(expected, abs=1e-3), m
    assert len({round(v, 3) for v in mt["model_means"].values()}) > 1  # the lengths separate the models
    assert mt["position_consistency"]["value"] == 1.0 and mt["position_consistency"]["n_pairs"] == 9
    assert len(server.bodies) == 2 * (9 + 3)  # both orders of every answer, the floor's too
    assert floor["ratings"] == pytest.approx([1 + 9 * 0.2] * 3) and "gpt-3.5-turbo" in mt["baseline"]
