"""Issue 13, runs: degenerate data (item 2), diverged training (item 1), disk full and a read-only cache (item 7),
the stage lock and stale temporaries, warnings and stage errors in run.log, readable results (item 8).

`bench run` is called in-process on the test profile with one or two tiny training stages; the faults are made by
tiny files written here, or by a monkeypatched write that fails as the kernel would (said where). The same faults on
a real tiny or read-only file system are in the tests marked slow at the end (a user namespace, no root needed)."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bad_input_helpers import bench, conversation, error_line, leftovers, stage_dirs, strict_json, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("--set", "data.sft_limit=2", "--set", "data.train_limit=4", "--set", "data.test_limit=2")


def _pairs(n: int, identical: set[int] = frozenset(), invalid: set[int] = frozenset()) -> list[dict]:
    rows = []
    for i in range(n):
        good = f"Answer {i}: a short, correct reply."
        bad = good if i in identical else f"Answer {i}: wrong."
        rows.append({"chosen": conversation(good, f"Question {i}?"), "rejected": conversation("" if i in invalid else bad, f"Question {i}?")})
    return rows


def _data(tmp_path: Path, train: list[dict]) -> Path:
    data = tmp_path / "data"
    write_jsonl(data / "dpo_mix_7k" / "train.jsonl", train)
    write_jsonl(data / "dpo_mix_7k" / "test.jsonl", _pairs(2))
    return data


def _dpo_run(capsys, tmp_path, data: Path, *extra):
    """DPO from the untrained student (stages.sft.epochs=0: the SFT stage saves its starting model as is)."""
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    code, out, err = bench(capsys, "run", "--profile", "test", "--method", "dpo", "--no-eval", "--set", "data.source=dpo_mix_7k",
                           "--set", "stages.sft.epochs=0", *SMALL, "--data-dir", data, "--cache-dir", cache, "--run-dir", run_dir, *extra)
    return code, err, cache, run_dir


def test_identical_pairs_are_dropped_counted_and_logged(tmp_path, capsys):
    """Two of five pairs have chosen == rejected, one does not convert (empty answer): the run trains on the other
    two, says so on the terminal and in run.log. Also: dead processes' temporaries of any stage and key are removed,
    a live one is kept; results are readable by others; a re-run says which entry it replaced."""
    data = _data(tmp_path, _pairs(5, identical={1, 3}, invalid={4}))
    cache = tmp_path / "cache"
    dead = [cache / ".tmp-dckd-0123456789abcdef-999999999", cache / ".tmp-sft-fedcba9876543210-999999998"]
    live = cache / f".tmp-dpo-00000000000000aa-{os.getpid()}"
    for folder in dead + [live]:
        folder.mkdir(parents=True)
        (folder / "half.bin").write_bytes(b"x")
    old_mask = os.umask(0o022)
    try:
        code, err, cache, run_dir = _dpo_run(capsys, tmp_path, data, "--set", "data.train_limit=5")
    finally:
        os.umask(old_mask)
    assert code == 0, err
    dropped = "dpo_mix_7k:pref_train: dropped 2 of 4 preference pairs whose chosen and rejected answers are identical after tokenisation (records 1, 3)"
    skipped = "dpo_mix_7k:train: skipped 1 of 5 records that do not convert (first: dpo_mix_7k:train: record 4: field 'rejected[1].content': empty)"
    log = (run_dir / "run.log").read_text()
    for message in (dropped, skipped):
        assert f"warning: {message}" in err and message in log
    summary = strict_json(next(cache.glob("dpo-*")) / "manifest.json")["summary"]
    assert summary["examples"] == 2
    assert not any(d.exists() for d in dead) and live.exists()
    for name in ("results.json", "plan.json", "run.log"):
        assert (run_dir / name).stat().st_mode & 0o777 == 0o644, name
    strict_json(run_dir / "results.json")

    code, err, _, _ = _dpo_run(capsys, tmp_path, data, "--set", "data.train_limit=5")  # every stage cached now
    assert code == 0
    replaced = "results.json: replaced the earlier entry for"
    assert f"warning: {replaced}" in err and replaced in (run_dir / "run.log").read_text()


def test_only_identical_pairs_is_an_error_naming_the_data_set(tmp_path, capsys):
    data = _data(tmp_path, _pairs(3, identical={0, 1, 2}))
    code, err, cache, run_dir = _dpo_run(capsys, tmp_path, data)
    assert code == 2
    line = error_line(err, "run")
    assert "dpo_mix_7k:pref_train: record *: field 'rejected': identical to 'chosen' after tokenisation in all 3 pairs" in line
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir) and not (run_dir / "results.json").exists()
    assert "identical to 'chosen'" in (run_dir / "run.log").read_text()


@pytest.fixture()
def nan_loss(monkeypatch):
    """The SFT loss turns NaN at the first step (what lr=1e20 did before the recipe refused it)."""
    from methods.sft import SFT

    original = SFT.compute_loss

    def diverged(self, model, batch, cfg):
        loss, metrics = original(self, model, batch, cfg)
        return loss * float("nan"), metrics

    monkeypatch.setattr(SFT, "compute_loss", diverged)


def _sft_run(capsys, tmp_path, *extra):
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    code, out, err = bench(capsys, "run", "--profile", "test", "--method", "sft", "--no-eval", *SMALL,
                           "--cache-dir", cache, "--run-dir", run_dir, *extra)
    return code, err, cache, run_dir


def test_nonfinite_loss_stops_the_stage_and_writes_nothing(nan_loss, tmp_path, capsys):
    code, err, cache, run_dir = _sft_run(capsys, tmp_path)
    assert code == 4
    line = error_line(err, "run")
    assert "stage sft: " in line and "=nan at optimiser step 1: training diverged" in line and "stages.sft.allow_nonfinite=true" in line
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir) and not (run_dir / "results.json").exists()
    log = (run_dir / "run.log").read_text()
    assert "[sft] failed; its temporary directory" in log and "NonFiniteTraining" in log  # the stage's exception


def test_allow_nonfinite_runs_on_and_writes_strict_json(nan_loss, tmp_path, capsys):
    code, err, cache, run_dir = _sft_run(capsys, tmp_path, "--set", "stages.sft.allow_nonfinite=true")
    assert code == 0, err
    (stage,) = cache.glob("sft-*")
    history = [strict_json_line for strict_json_line in (stage / "log_history.jsonl").read_text().splitlines()]
    assert history and all("NaN" not in line for line in history)
    assert strict_json(stage / "manifest.json")["summary"]["final_loss"] is None  # NaN recorded as null
    strict_json(run_dir / "results.json")


def test_disk_full_while_saving_a_stage_names_the_path(monkeypatch, tmp_path, capsys):
    """Monkeypatched: the model save fails as a full disk makes write() fail, with ENOSPC and no file name."""
    import bench.pipeline.train_stage as train_stage

    def full(model, tokenizer, folder):
        (folder / "model.safetensors.partial").parent.mkdir(parents=True, exist_ok=True)
        (folder / "model.safetensors.partial").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(train_stage, "save_model", full)
    code, err, cache, run_dir = _sft_run(capsys, tmp_path)
    assert code == 5
    line = error_line(err, "run")
    assert f"{cache}/.tmp-sft-" in line and "no space left on the device" in line
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir) and not (run_dir / "results.json").exists()


def test_disk_full_while_writing_results_names_the_file(monkeypatch, tmp_path, capsys):
    """Monkeypatched: the atomic writer's write() fails with ENOSPC (no file name) for results.json."""
    import bench.io

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return Full(handle) if fdopen.target_open else handle

    fdopen.target_open = False
    monkeypatch.setattr(bench.io.os, "fdopen", fdopen)
    from bench.results import document

    real_save = document.save_results

    def save(results, path):
        fdopen.target_open = True
        return real_save(results, path)

    monkeypatch.setattr(document, "save_results", save)
    code, err, cache, run_dir = _sft_run(capsys, tmp_path)
    assert code == 5
    assert f"{run_dir / 'results.json'}: no space left on the device" in error_line(err, "run")
    assert not (run_dir / "results.json").exists() and not leftovers(run_dir)


def test_read_only_cache_names_the_path(monkeypatch, tmp_path, capsys):
    """Monkeypatched (the tests run as root, whom chmod does not stop): opening anything for writing under the cache
    fails with EROFS as on a read-only mount. The real mount is in test_read_only_cache_on_a_real_mount (slow)."""
    import builtins

    cache = tmp_path / "cache"
    cache.mkdir()
    real_open, real_mkdir = builtins.open, Path.mkdir

    def read_only(path) -> bool:
        return str(path).startswith(str(cache) + "/")

    def open_(file, mode="r", *args, **kwargs):
        if read_only(file) and any(c in mode for c in "wax+"):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, mode, *args, **kwargs)

    def mkdir(self, *args, **kwargs):
        if read_only(self) and not self.exists():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    code, err, _, run_dir = _sft_run(capsys, tmp_path)
    assert code == 5
    line = error_line(err, "run")
    assert f"{cache}/.lock-sft-" in line and "read-only file system" in line
    assert os.listdir(cache) == [] and not (run_dir / "results.json").exists()


def test_stage_lock_makes_a_second_process_wait(tmp_path):
    """A second process holding the stage's lock: this one waits (and says so) until it is released."""
    from bench.pipeline.cache import StageCache

    key = "a" * 64
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from bench.pipeline.cache import StageCache
        with StageCache(Path({str(tmp_path)!r})).lock("sft", {key!r}):
            print("held", flush=True)
            time.sleep(1.5)
    """)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waited = []
        start = time.monotonic()
        with StageCache(tmp_path).lock("sft", key, on_wait=lambda: waited.append(time.monotonic())):
            acquired = time.monotonic()
        assert waited and holder.wait(timeout=30) == 0
        assert acquired - start > 0.5  # it did not get the lock while the other process held it
        with StageCache(tmp_path).lock("sft", "b" * 64, on_wait=lambda: pytest.fail("another key waited")):
            pass
    finally:
        holder.kill()


# -- real file systems: a 64 KiB tmpfs and a read-only bind mount, in a user namespace (no root needed) -------------

def _namespace_works() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt 2>/dev/null || "
                            "mount -t tmpfs -o size=64k none /tmp"], capture_output=True)
    return None if probe.returncode == 0 else f"no user namespaces with mounts here: {probe.stderr.decode().strip()}"


def _in_namespace(setup: str, argv: list[str], env: dict, listing: Path) -> subprocess.CompletedProcess:
    """``bench ARGV`` after ``setup`` (mounts) in a new user and mount namespace; then what is left in the mounted
    folder is listed into ``listing`` (outside it), before the mount goes away with the namespace."""
    bench_cmd = " ".join(f"'{a}'" for a in [sys.executable, "-m", "bench.cli", *map(str, argv)])
    script = f"{setup} && {{ {bench_cmd}; code=$?; ls -A \"$MOUNTED\" > '{listing}'; exit $code; }}"
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_disk_full_on_a_real_tiny_file_system(tmp_path):
    from report_helpers import copy_doc, write

    reason = _namespace_works()
    if reason:
        pytest.skip(reason)
    results = write(tmp_path / "results.json", copy_doc())
    out, listing = tmp_path / "small", tmp_path / "listing.txt"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MOUNTED": str(out)}
    done = _in_namespace(f"mount -t tmpfs -o size=64k none '{out}'", ["report", results, "--out", out], env, listing)
    assert done.returncode == 5, done.stderr
    line = error_line(done.stderr, "report")
    assert line.startswith(f"bench report: error: {out}/") and "no space left on the device" in line
    assert not [name for name in listing.read_text().split() if ".tmp" in name]  # no half-written file on the full disk


@pytest.mark.slow
def test_read_only_cache_on_a_real_mount(tmp_path):
    reason = _namespace_works()
    if reason:
        pytest.skip(reason)
    cache, run_dir, listing = tmp_path / "cache", tmp_path / "run", tmp_path / "listing.txt"
    cache.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MOUNTED": str(cache)}
    done = _in_namespace(f"mount --bind '{cache}' '{cache}' && mount -o remount,bind,ro '{cache}'",
                         ["run", "--profile", "test", "--method", "sft", "--no-eval", *SMALL, "--cache-dir", cache,
                          "--run-dir", run_dir], env, listing)
    assert done.returncode == 5, done.stderr
    line = error_line(done.stderr, "run")
    assert f"{cache}/.lock-sft-" in line and "read-only file system" in line
    assert listing.read_text() == "" and os.listdir(cache) == [] and not (run_dir / "results.json").exists()


def test_dead_temporaries_of_any_stage_and_key_are_removed(tmp_path):
    """A failed or killed run leaves .tmp-<stage>-<key>-<pid>; the next stage to begin removes every one whose
    process is gone, whatever its stage and key (a changed setting gives a new key), and keeps a live one."""
    from bench.pipeline.cache import StageCache

    dead = [tmp_path / ".tmp-dckd-0123456789abcdef-999999999", tmp_path / ".tmp-sft-fedcba9876543210-999999998"]
    live = tmp_path / f".tmp-dpo-00000000000000aa-{os.getpid()}"
    for folder in dead + [live]:
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"half")
    tmp = StageCache(tmp_path).begin("sft", "1" * 64)
    assert tmp.is_dir() and live.is_dir()
    assert not any(d.exists() for d in dead)
